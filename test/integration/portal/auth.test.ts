import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ADMIN, AUDITOR, createUsers, login, portalApp } from '../../helpers/portal-app.js';
import { UserStore } from '../../../proxy/portal/users.js';

describe('portal sign-in, sessions and CSRF', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let clock = Date.now();
  const now = (): Date => new Date(clock);

  beforeAll(async () => {
    t = await testDatabase('portal_auth');
    app = await portalApp(t.name, {
      now,
      portal: { session: { idleMs: 10 * 60_000, maxMs: 60 * 60_000 }, lockout: { maxFailuresPerUser: 3, maxFailuresPerIp: 50, windowMs: 5 * 60_000 } },
    });
    await createUsers(t.db);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('login sets an httpOnly SameSite=Strict session cookie and returns the user and a CSRF token; /me answers with them', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: AUDITOR });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ user: { username: string; role: string }; csrfToken: string }>();
    expect(body.user).toEqual({ username: AUDITOR.username, role: 'auditor' });
    const cookie = res.cookies.find((c) => c.name === 'rp_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookie?.secure).toBeFalsy();
    expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = await app.inject({ url: '/api/v1/auth/me', headers: { cookie: `rp_session=${cookie?.value ?? ''}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual(body);
    // Only the token's sha256 is stored.
    expect(await t.db.collection('portal.sessions').countDocuments({ _id: cookie?.value as never })).toBe(0);
  });

  it('wrong password and unknown user get the same 401 AUTH_INVALID_CREDENTIALS; no session means 401 AUTH_REQUIRED', async () => {
    const wrong = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: ADMIN.username, password: 'Nope-1234' } });
    const unknown = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'nobody', password: 'Nope-1234' } });
    expect([wrong.statusCode, wrong.json<{ code: string }>().code]).toEqual([401, 'AUTH_INVALID_CREDENTIALS']);
    expect([unknown.statusCode, unknown.json<{ code: string }>().code]).toEqual([401, 'AUTH_INVALID_CREDENTIALS']);
    const me = await app.inject({ url: '/api/v1/auth/me' });
    expect([me.statusCode, me.json<{ code: string }>().code]).toEqual([401, 'AUTH_REQUIRED']);
    const forged = await app.inject({ url: '/api/v1/auth/me', headers: { cookie: 'rp_session=forged' } });
    expect(forged.json<{ code: string }>().code).toBe('AUTH_REQUIRED');
    await t.db.collection('portal.login_attempts').deleteMany({});
  });

  it('state changes need the session CSRF token: logout without it is 403 CSRF_INVALID, with it 204 and the session ends', async () => {
    const s = await login(app, AUDITOR);
    const none = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: s.cookie } });
    expect([none.statusCode, none.json<{ code: string }>().code]).toEqual([403, 'CSRF_INVALID']);
    const other = await login(app, AUDITOR);
    const wrong = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: s.cookie, 'x-csrf-token': other.csrf } });
    expect(wrong.json<{ code: string }>().code).toBe('CSRF_INVALID');
    const ok = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: s.headers });
    expect(ok.statusCode).toBe(204);
    const after = await app.inject({ url: '/api/v1/auth/me', headers: { cookie: s.cookie } });
    expect(after.json<{ code: string }>().code).toBe('AUTH_REQUIRED');
    const audit = await t.db.collection('portal.audit').find({ action: 'logout', user: AUDITOR.username }).toArray();
    expect(audit).toHaveLength(1);
  });

  it('sessions end after the idle time and after the absolute time, however active', async () => {
    const s = await login(app, AUDITOR);
    clock += 9 * 60_000;
    expect((await app.inject({ url: '/api/v1/auth/me', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    clock += 11 * 60_000;
    expect((await app.inject({ url: '/api/v1/auth/me', headers: { cookie: s.cookie } })).json<{ code: string }>().code).toBe('AUTH_REQUIRED');

    const busy = await login(app, AUDITOR);
    for (let i = 0; i < 7; i++) {
      clock += 8 * 60_000;
      expect((await app.inject({ url: '/api/v1/auth/me', headers: { cookie: busy.cookie } })).statusCode).toBe(200);
    }
    clock += 8 * 60_000; // 64 min after sign-in: past the 60 min absolute limit
    expect((await app.inject({ url: '/api/v1/auth/me', headers: { cookie: busy.cookie } })).json<{ code: string }>().code).toBe('AUTH_REQUIRED');
  });

  it('locks a user name after repeated failures (429 AUTH_LOCKED with Retry-After, even with the right password), then unlocks', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: AUDITOR.username, password: `Wrong-pass-${i}` } });
      expect(r.json<{ code: string }>().code).toBe('AUTH_INVALID_CREDENTIALS');
    }
    const locked = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: AUDITOR });
    expect([locked.statusCode, locked.json<{ code: string }>().code]).toEqual([429, 'AUTH_LOCKED']);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(300);
    // Another user from the same address is not locked by this.
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: ADMIN })).statusCode).toBe(200);
    clock += 5 * 60_000 + 1000;
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: AUDITOR })).statusCode).toBe(200);

    const entries = await t.db.collection('portal.audit').find({ user: AUDITOR.username, action: { $in: ['login.ok', 'login.failed'] } }).toArray();
    expect(entries.filter((e) => e.action === 'login.failed' && e.outcome === 'failed').length).toBeGreaterThanOrEqual(3);
    expect(entries.some((e) => e.action === 'login.failed' && e.outcome === 'denied')).toBe(true);
    expect(entries.filter((e) => e.action === 'login.ok').every((e) => e.ip === '127.0.0.1' && typeof e.userAgent === 'string' && e.at instanceof Date)).toBe(true);
  });

  it('locks a client address after too many failures across user names', async () => {
    const ipApp = await portalApp(t.name, { now, portal: { session: { idleMs: 60_000, maxMs: 60_000 }, lockout: { maxFailuresPerUser: 100, maxFailuresPerIp: 4, windowMs: 60_000 } } });
    try {
      for (let i = 0; i < 4; i++) await ipApp.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: `guess${i}`, password: 'Wrong-pass-1' } });
      const r = await ipApp.inject({ method: 'POST', url: '/api/v1/auth/login', payload: ADMIN });
      expect(r.json<{ code: string }>().code).toBe('AUTH_LOCKED');
    } finally {
      await ipApp.close();
      clock += 61_000;
    }
  });

  it('changing one\'s own password needs the current one and the password rules', async () => {
    const s = await login(app, ADMIN);
    const weak = await app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: s.headers, payload: { currentPassword: ADMIN.password, newPassword: 'short' } });
    expect([weak.statusCode, weak.json<{ code: string }>().code]).toEqual([400, 'PASSWORD_WEAK']);
    const wrong = await app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: s.headers, payload: { currentPassword: 'Wrong-1234', newPassword: 'Better-Pass-2' } });
    expect(wrong.json<{ code: string }>().code).toBe('AUTH_INVALID_CREDENTIALS');
    const ok = await app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: s.headers, payload: { currentPassword: ADMIN.password, newPassword: 'Better-Pass-2' } });
    expect(ok.statusCode).toBe(204);
    expect((await app.inject({ url: '/api/v1/auth/me', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    await login(app, { username: ADMIN.username, password: 'Better-Pass-2' });
  });

  it('a session follows its account as it is now: demoted, disabled, deleted or given a new password without its sessions being ended, it acts with the new role or is over', async () => {
    const users = new UserStore(t.db);
    const col = t.db.collection<{ _id: string }>('portal.users');
    const me = async (cookie: string) => {
      const r = await app.inject({ url: '/api/v1/auth/me', headers: { cookie } });
      return r.statusCode === 200 ? r.json<{ user: { role: string } }>().user.role : r.json<{ code: string }>().code;
    };
    // Each change is made to the account alone, as when the write that ends sessions was refused or the process
    // stopped right after the account changed.
    await users.create('acct-demoted', 'Acct-Pass-1', 'admin');
    const demoted = await login(app, { username: 'acct-demoted', password: 'Acct-Pass-1' });
    expect((await app.inject({ url: '/api/v1/users', headers: { cookie: demoted.cookie } })).statusCode).toBe(200);
    await col.updateOne({ _id: 'acct-demoted' }, { $set: { role: 'auditor' } });
    const refused = await app.inject({ url: '/api/v1/users', headers: { cookie: demoted.cookie } });
    expect([refused.statusCode, refused.json<{ code: string }>().code]).toEqual([403, 'FORBIDDEN']);
    expect(await me(demoted.cookie)).toBe('auditor');

    for (const [name, change] of [
      ['acct-disabled', () => col.updateOne({ _id: 'acct-disabled' }, { $set: { disabled: true } })],
      ['acct-deleted', () => col.deleteOne({ _id: 'acct-deleted' })],
      ['acct-new-password', () => users.update('acct-new-password', { password: 'Other-Pass-2' })],
      // Disabled (its sessions' deletion never came), then enabled again: they stay over.
      ['acct-reenabled', async () => {
        await users.update('acct-reenabled', { disabled: true });
        await users.update('acct-reenabled', { disabled: false });
      }],
    ] as const) {
      await users.create(name, 'Acct-Pass-1', 'auditor');
      const s = await login(app, { username: name, password: 'Acct-Pass-1' });
      expect(await me(s.cookie)).toBe('auditor');
      await change();
      expect(await me(s.cookie), name).toBe('AUTH_REQUIRED');
    }
    // The session that changed its own password stands; the user's other session is over.
    await users.create('acct-own', 'Acct-Pass-1', 'auditor');
    const [one, two] = [await login(app, { username: 'acct-own', password: 'Acct-Pass-1' }), await login(app, { username: 'acct-own', password: 'Acct-Pass-1' })];
    const changed = await app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: one.headers, payload: { currentPassword: 'Acct-Pass-1', newPassword: 'Acct-Pass-2' } });
    expect(changed.statusCode).toBe(204);
    expect([await me(one.cookie), await me(two.cookie)]).toEqual(['auditor', 'AUTH_REQUIRED']);
    // While a session changes its own password, its other requests stand: between the account's new epoch and the
    // session's taking it, the epoch it expects is accepted too.
    await users.create('acct-own2', 'Acct-Pass-1', 'auditor');
    const own = await login(app, { username: 'acct-own2', password: 'Acct-Pass-1' });
    await t.db.collection('portal.sessions').updateOne({ username: 'acct-own2' }, { $set: { pendingEpoch: 'e'.repeat(32) } });
    await users.update('acct-own2', { password: 'Acct-Pass-2' }, { sessionEpoch: 'e'.repeat(32) });
    expect(await me(own.cookie)).toBe('auditor');
  });
});
