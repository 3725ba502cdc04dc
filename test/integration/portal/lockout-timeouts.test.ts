import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portalSettings } from '../../../proxy/portal/context.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ADMIN, AUDITOR, createUsers, login, portalApp } from '../../helpers/portal-app.js';
import { importSimulatorDay } from '../../helpers/portal-data.js';

const policy = { sessionIdleMinutes: 30, sessionMaxHours: 12, loginMaxFailures: 3, loginMaxFailuresPerIp: 6, loginLockoutMinutes: 15 };

/** Issue 12 item 5: the lockout limit holds under parallel guesses; portal queries carry maxTimeMS. */
describe('sign-in lockout under parallel guesses, and query time limits', () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await testDatabase('portal_lockout');
    await createUsers(t.db);
  });
  afterAll(async () => {
    await t.drop();
  });

  const signIn = (app: FastifyInstance, username: string, password: string) => app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });

  it('bursts of parallel wrong passwords for one user: never more than loginMaxFailures reach the password check', async () => {
    const app = await portalApp(t.name, { portal: portalSettings({ ...policy, loginMaxFailuresPerIp: 1000 }) });
    try {
      // Attempts in flight count as failures until they end, so a burst may lock itself out entirely: never more.
      let invalid = 0;
      for (let burst = 0; burst < 3; burst++) {
        const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => signIn(app, ADMIN.username, `Wrong-Pass-${i}`)));
        const codes = answers.map((r) => r.json<{ code: string }>().code);
        expect(codes.every((c) => c === 'AUTH_INVALID_CREDENTIALS' || c === 'AUTH_LOCKED'), codes.join()).toBe(true);
        invalid += codes.filter((c) => c === 'AUTH_INVALID_CREDENTIALS').length;
        expect(invalid).toBeLessThanOrEqual(policy.loginMaxFailures);
      }
      // One at a time, the limit is reached exactly.
      for (let i = 0; i < 10; i++) {
        const r = await signIn(app, ADMIN.username, 'Wrong-Pass-x');
        if (r.statusCode === 429) break;
        invalid++;
      }
      expect(invalid).toBe(policy.loginMaxFailures);
      const checked = await t.db.collection('portal.audit').countDocuments({ user: ADMIN.username, action: 'login.failed', outcome: 'failed' });
      expect(checked).toBe(policy.loginMaxFailures);
      // Locked: even the right password is refused, with Retry-After.
      const right = await signIn(app, ADMIN.username, ADMIN.password);
      expect([right.statusCode, right.json<{ code: string }>().code]).toEqual([429, 'AUTH_LOCKED']);
      expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  it('of 30 parallel guesses across user names from one address, at most loginMaxFailuresPerIp are checked', async () => {
    await t.db.collection('portal.login_attempts').deleteMany({});
    const app = await portalApp(t.name, { portal: portalSettings({ ...policy, loginMaxFailures: 1000 }) });
    try {
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => signIn(app, `nobody${i}`, 'Wrong-Pass-1')));
      let invalid = answers.filter((r) => r.json<{ code: string }>().code === 'AUTH_INVALID_CREDENTIALS').length;
      expect(invalid).toBeLessThanOrEqual(policy.loginMaxFailuresPerIp);
      // (A burst may refuse all of itself: attempts in flight count.) One at a time, the limit is reached exactly.
      for (let i = 0; i < 20; i++) {
        const r = await signIn(app, `later${i}`, 'Wrong-Pass-1');
        if (r.statusCode === 429) break;
        invalid++;
      }
      expect(invalid).toBe(policy.loginMaxFailuresPerIp);
    } finally {
      await app.close();
    }
  });

  it('a locked attempt does not extend the lock, and a right password clears the user name', async () => {
    await t.db.collection('portal.login_attempts').deleteMany({});
    const app = await portalApp(t.name, { portal: portalSettings(policy) });
    try {
      await signIn(app, AUDITOR.username, 'Wrong-Pass-1');
      expect((await signIn(app, AUDITOR.username, AUDITOR.password)).statusCode).toBe(200);
      expect(await t.db.collection('portal.login_attempts').countDocuments({ key: `user:${AUDITOR.username}` })).toBe(0);
      for (let i = 0; i < policy.loginMaxFailures; i++) await signIn(app, AUDITOR.username, 'Wrong-Pass-1');
      const before = await t.db.collection('portal.login_attempts').countDocuments({ key: `user:${AUDITOR.username}` });
      expect((await signIn(app, AUDITOR.username, AUDITOR.password)).statusCode).toBe(429);
      expect(await t.db.collection('portal.login_attempts').countDocuments({ key: `user:${AUDITOR.username}` })).toBe(before);
    } finally {
      await app.close();
    }
  });

  it('a portal query that outruns portal.queryTimeoutMs is stopped on the server: 503 QUERY_TIMEOUT', async () => {
    await t.db.collection('portal.login_attempts').deleteMany({});
    await importSimulatorDay(t.db, { records: 600 });
    // After the import the app builds the record indexes: signed in once they are there (FerretDB's write lock).
    const app = await portalApp(t.name, { portal: portalSettings({ ...policy, queryTimeoutMs: 1 }) }, { indexesBuilt: true });
    try {
      const s = await login(app, AUDITOR);
      const answers: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await app.inject({ url: `/api/v1/messages?q=no-such-words-${i}&limit=200`, headers: { cookie: s.cookie } });
        answers.push(`${r.statusCode} ${r.statusCode === 200 ? '' : r.json<{ code: string }>().code}`);
      }
      // 1 ms of server time: a full-collection regex scan runs out (a very fast server may finish one now and then).
      expect(answers.filter((a) => a !== '200 ' && a !== '503 QUERY_TIMEOUT'), answers.join()).toEqual([]);
      expect(answers.filter((a) => a === '503 QUERY_TIMEOUT').length, answers.join()).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
    const normal = await portalApp(t.name, { portal: portalSettings(policy) });
    try {
      const s = await login(normal, AUDITOR);
      expect((await normal.inject({ url: '/api/v1/messages?q=no-such-words&limit=200', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    } finally {
      await normal.close();
    }
  });
});
