import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDatabase } from '../../../proxy/integrity/verify.js';
import { LIST_TYPES, RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';
import { importSimulatorDay } from '../../helpers/portal-data.js';

interface VerifyBody { ok?: boolean; sha256Recorded?: string | null; sha256Computed?: string; code?: string; collection?: string }

describe('fixity of an imported simulator day: verifyDatabase and the record "Verify" route', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let s: Login;
  const get = async <T>(url: string, cookie = s.cookie): Promise<{ status: number; body: T }> => {
    const res = await app.inject({ url, headers: { cookie } });
    return { status: res.statusCode, body: res.json<T>() };
  };

  beforeAll(async () => {
    t = await testDatabase('fixity_day');
    await importSimulatorDay(t.db, { records: 300, mediaBytes: 600 * 1024 });
    app = await portalApp(t.name);
    await createUsers(t.db);
    s = await login(app, AUDITOR);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('every record and media file of the vendor format verifies clean (audit entries of the sign-in included)', async () => {
    const report = await verifyDatabase(t.db);
    expect(report.problems).toEqual([]);
    expect(report.counts.records).toBeGreaterThan(250);
    expect(report.counts.mediaFiles).toBeGreaterThan(5);
    expect(report.counts.auditEntries).toBeGreaterThan(0);
    expect(report.scope.collections).toEqual(expect.arrayContaining(Object.values(RECORD_COLLECTIONS)) as string[]);
  });

  it('GET /api/v1/<type>/:id/verify answers ok for a record of every type, and names a tampered one', async () => {
    for (const type of LIST_TYPES) {
      const list = await get<{ items: { id: string }[] }>(`/api/v1/${type}?limit=1`);
      const id = list.body.items[0]?.id ?? '';
      const r = await get<VerifyBody>(`/api/v1/${type}/${encodeURIComponent(id)}/verify`);
      expect([r.status, r.body.ok, r.body.sha256Computed], type).toEqual([200, true, r.body.sha256Recorded]);
    }
    const call = await t.db.collection(RECORD_COLLECTIONS.calls).findOne({}, { sort: { startedAt: -1 } });
    await t.db.collection(RECORD_COLLECTIONS.calls).updateOne({ _id: call?._id }, { $set: { durationSec: 99999 } });
    const bad = await get<VerifyBody>(`/api/v1/calls/${String(call?.callId)}/verify`);
    expect([bad.status, bad.body.ok, bad.body.collection]).toEqual([200, false, RECORD_COLLECTIONS.calls]);
    expect(bad.body.sha256Computed).not.toBe(bad.body.sha256Recorded);
    const entry = await t.db.collection('portal.audit').findOne({ action: 'record.verify', target: `calls/${String(call?.callId)}` }, { sort: { seq: -1 } });
    expect(entry).toMatchObject({ user: AUDITOR.username, role: 'auditor', outcome: 'ok', details: { ok: false, sha256Recorded: bad.body.sha256Recorded, sha256Computed: bad.body.sha256Computed } });
    expect(await t.db.collection('portal.audit').countDocuments({ action: 'record.verify' })).toBe(LIST_TYPES.length + 1);
  });

  it('an unknown record is NOT_FOUND; without a session AUTH_REQUIRED', async () => {
    expect(await get<VerifyBody>('/api/v1/calls/no-such-call/verify')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await get<VerifyBody>('/api/v1/calls/no-such-call/verify', '')).toMatchObject({ status: 401, body: { code: 'AUTH_REQUIRED' } });
  });
});
