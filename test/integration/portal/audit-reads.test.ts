import type { FastifyInstance } from 'fastify';
import type { Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';
import { importSimulatorDay } from '../../helpers/portal-data.js';

/** Issue 12 item 2: every read of record content leaves one audit entry per list request or playback. */
describe('audit of reads', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let s: Login;
  let voicemail: Document;
  const audit = (): ReturnType<TestDatabase['db']['collection']> => t.db.collection('portal.audit');
  const count = (filter: Document): Promise<number> => audit().countDocuments(filter);

  beforeAll(async () => {
    t = await testDatabase('portal_audit_reads');
    await importSimulatorDay(t.db, { records: 300, mediaBytes: 256 * 1024 });
    app = await portalApp(t.name);
    await createUsers(t.db);
    s = await login(app, AUDITOR);
    const vm = await t.db.collection(RECORD_COLLECTIONS.files).findOne({ category: 'voicemail' }, { sort: { size: -1 } });
    if (!vm) throw new Error('no voicemail');
    voicemail = vm;
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('a list request without q (messages?room=X returns a room\'s texts) is audited as list, each page once; with q as search', async () => {
    const msg = await t.db.collection(RECORD_COLLECTIONS.messages).findOne({});
    const room = msg?.roomId as string;
    const first = await app.inject({ url: `/api/v1/messages?room=${room}&limit=1`, headers: { cookie: s.cookie } });
    expect(first.statusCode).toBe(200);
    expect(await count({ action: 'list', target: 'messages', user: AUDITOR.username })).toBe(1);
    expect(await audit().findOne({ action: 'list', target: 'messages' })).toMatchObject({ outcome: 'ok', ip: '127.0.0.1', details: { filters: { room, limit: 1 }, results: 1 } });
    const next = first.json<{ nextCursor: string | null }>().nextCursor;
    if (next) {
      await app.inject({ url: `/api/v1/messages?room=${room}&limit=1&cursor=${encodeURIComponent(next)}`, headers: { cookie: s.cookie } });
      expect(await count({ action: 'list', target: 'messages' })).toBe(2);
    }
    await app.inject({ url: '/api/v1/staff', headers: { cookie: s.cookie } });
    expect(await count({ action: 'list', target: 'staff' })).toBe(1);
    await app.inject({ url: '/api/v1/contacts?q=a', headers: { cookie: s.cookie } });
    expect([await count({ action: 'search', target: 'contacts' }), await count({ action: 'list', target: 'contacts' })]).toEqual([1, 0]);
  });

  it('a playback that starts past byte 0 (Range: bytes=1-) is audited once; its seeks are not; a new playback from 0 is', async () => {
    const url = `/api/v1/media/${voicemail.fileId as string}`;
    const target = `media/${voicemail.fileId as string}`;
    const fresh = await login(app, AUDITOR);
    const r = await app.inject({ url, headers: { cookie: fresh.cookie, range: 'bytes=1-' } });
    expect(r.statusCode).toBe(206);
    expect(r.rawPayload.length).toBe(Number(voicemail.size) - 1);
    expect(await count({ action: 'media.play', target })).toBe(1);
    await app.inject({ url, headers: { cookie: fresh.cookie, range: 'bytes=2000-' } });
    await app.inject({ url, headers: { cookie: fresh.cookie, range: 'bytes=100-199' } });
    expect(await count({ action: 'media.play', target })).toBe(1);
    // Another session reading from the middle is a playback of its own.
    const other = await login(app, AUDITOR);
    await app.inject({ url, headers: { cookie: other.cookie, range: 'bytes=4000-' } });
    expect(await count({ action: 'media.play', target })).toBe(2);
    await app.inject({ url, headers: { cookie: fresh.cookie, range: 'bytes=0-' } });
    expect(await count({ action: 'media.play', target })).toBe(3);
    await app.inject({ url: `${url}?download=1`, headers: { cookie: fresh.cookie, range: 'bytes=10-' } });
    expect(await count({ action: 'media.download', target })).toBe(1);
  });

  it('media verify is audited', async () => {
    const res = await app.inject({ url: `/api/v1/media/${voicemail.fileId as string}/verify`, headers: { cookie: s.cookie } });
    expect(res.json<{ ok: boolean }>().ok).toBe(true);
    expect(await audit().findOne({ action: 'media.verify' })).toMatchObject({ user: AUDITOR.username, target: `media/${voicemail.fileId as string}`, outcome: 'ok', details: { ok: true } });
  });

  it('the admin password set at start (portal.adminPassword) is audited as an account change by system, and ends admin sessions', async () => {
    const db = await testDatabase('portal_audit_admin');
    try {
      const first = await portalApp(db.name, { adminPassword: 'Start-Admin-1' });
      await first.close();
      expect(await db.db.collection('portal.audit').findOne({ action: 'user.create', target: 'users/admin' })).toMatchObject({ user: 'system', outcome: 'ok', details: { source: 'portal.adminPassword' } });
      const same = await portalApp(db.name, { adminPassword: 'Start-Admin-1' });
      const session = await login(same, { username: 'admin', password: 'Start-Admin-1' });
      await same.close();
      expect(await db.db.collection('portal.audit').countDocuments({ user: 'system' })).toBe(1);
      const changed = await portalApp(db.name, { adminPassword: 'Start-Admin-2' });
      expect(await db.db.collection('portal.audit').findOne({ action: 'user.update', target: 'users/admin' })).toMatchObject({ user: 'system', details: { source: 'portal.adminPassword', result: 'updated' } });
      expect((await changed.inject({ url: '/api/v1/auth/me', headers: { cookie: session.cookie } })).statusCode).toBe(401);
      await changed.close();
    } finally {
      await db.drop();
    }
  });
});
