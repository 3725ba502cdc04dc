import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portalSettings } from '../../../proxy/portal/context.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { AUDITOR, createUsers, portalApp } from '../../helpers/portal-app.js';

const policy = { sessionIdleMinutes: 30, sessionMaxHours: 12, loginMaxFailures: 50, loginMaxFailuresPerIp: 2, loginLockoutMinutes: 15 };

/**
 * Issue 12 item 3: behind a TLS-terminating reverse proxy every request comes from the proxy's address. With
 * portal.trustProxy naming it, lockout and audit see the client's address from X-Forwarded-For; without it, a
 * forged X-Forwarded-For changes nothing.
 */
describe('portal.trustProxy', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('portal_trust_proxy');
    await createUsers(t.db);
  });
  afterAll(async () => {
    await t.drop();
  });

  const wrong = { username: AUDITOR.username, password: 'Wrong-Pass-1' };

  it('trusted proxy: the audit log records the client address, and one client\'s failures do not lock out another', async () => {
    const app = await portalApp(t.name, { trustProxy: '127.0.0.1', portal: portalSettings(policy) });
    try {
      for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: wrong, headers: { 'x-forwarded-for': '203.0.113.7' } });
      const locked = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: AUDITOR, headers: { 'x-forwarded-for': '203.0.113.7' } });
      expect(locked.statusCode).toBe(429);
      const other = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: AUDITOR, headers: { 'x-forwarded-for': '198.51.100.20' } });
      expect(other.statusCode).toBe(200);
      const ips = (await t.db.collection('portal.audit').find({ user: AUDITOR.username }).toArray()).map((e) => e.ip as string);
      expect(new Set(ips)).toEqual(new Set(['203.0.113.7', '198.51.100.20']));
    } finally {
      await app.close();
    }
  });

  it('no trusted proxy (the default): X-Forwarded-For is ignored', async () => {
    await t.db.collection('portal.login_attempts').deleteMany({});
    await t.db.collection('portal.audit').deleteMany({});
    const app = await portalApp(t.name, { portal: portalSettings(policy) });
    try {
      await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: wrong, headers: { 'x-forwarded-for': '203.0.113.9' } });
      expect(await t.db.collection('portal.audit').findOne({ user: AUDITOR.username })).toMatchObject({ ip: '127.0.0.1' });
    } finally {
      await app.close();
    }
  });

  it('behind a trusted TLS-terminating proxy (X-Forwarded-Proto: https) the session cookie is Secure and HSTS is sent', async () => {
    await t.db.collection('portal.login_attempts').deleteMany({});
    const app = await portalApp(t.name, { trustProxy: '127.0.0.1', portal: portalSettings(policy) });
    try {
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: AUDITOR, headers: { 'x-forwarded-for': '203.0.113.30', 'x-forwarded-proto': 'https' } });
      expect(res.statusCode).toBe(200);
      expect(String(res.headers['set-cookie'])).toMatch(/;\s*Secure/i);
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
      const cookie = res.cookies[0];
      const out = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', cookies: { [cookie!.name]: cookie!.value }, headers: { 'x-forwarded-proto': 'https', 'x-csrf-token': res.json<{ csrfToken: string }>().csrfToken } });
      expect(out.statusCode).toBe(204);
      expect(String(out.headers['set-cookie'])).toMatch(/;\s*Secure/i);
    } finally {
      await app.close();
    }
  });

  it('plain HTTP, or X-Forwarded-Proto from an untrusted client: no Secure cookie, no HSTS', async () => {
    await t.db.collection('portal.login_attempts').deleteMany({});
    const app = await portalApp(t.name, { portal: portalSettings(policy) });
    try {
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: AUDITOR, headers: { 'x-forwarded-proto': 'https' } });
      expect(res.statusCode).toBe(200);
      expect(String(res.headers['set-cookie'])).not.toMatch(/;\s*Secure/i);
      expect(res.headers['strict-transport-security']).toBeUndefined();
    } finally {
      await app.close();
    }
  });
});
