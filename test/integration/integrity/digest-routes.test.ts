import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDigestFile } from '../../../proxy/integrity/digest.js';
import { makeDigest } from '../../../proxy/integrity/digest-service.js';
import { FixitySweep } from '../../../proxy/integrity/sweep.js';
import { AuditLog } from '../../../proxy/portal/audit.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ADMIN, AUDITOR, createUsers, login, portalApp } from '../../helpers/portal-app.js';
import { importSimulatorDay, PORTAL_ARCHIVE } from '../../helpers/portal-data.js';

describe('portal: integrity digests and fixity sweeps (admin)', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let line = '';

  beforeAll(async () => {
    t = await testDatabase('digest_routes');
    await importSimulatorDay(t.db, { records: 120, mediaBytes: 64 * 1024 });
    await t.db.collection<{ _id: string; archiveCreatedAt: Date; state: string }>('proxy.jobs').insertOne({ _id: PORTAL_ARCHIVE, archiveCreatedAt: new Date('2026-03-01T02:00:00Z'), state: 'reported' });
    app = await portalApp(t.name);
    await createUsers(t.db);
    ({ line } = await makeDigest(t.db, new AuditLog(t.db), pino({ level: 'silent' }), { day: '2026-03-01', site: 'site-a' }));
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('lists the digests newest first with their line, and downloads every line as the file verify --digest reads', async () => {
    const admin = await login(app, ADMIN);
    const list = await app.inject({ url: '/api/v1/integrity/digests', headers: { cookie: admin.cookie } });
    expect(list.statusCode).toBe(200);
    const items = list.json<{ items: { day: string; line: string; records: number; archives: string[] }[] }>().items;
    expect(items.map((d) => [d.day, d.line, d.archives])).toEqual([['2026-03-01', line, [PORTAL_ARCHIVE]]]);
    expect(items[0]?.records).toBeGreaterThan(100);
    const file = await app.inject({ url: '/api/v1/integrity/digests.txt', headers: { cookie: admin.cookie } });
    expect([file.statusCode, file.headers['content-disposition'], file.body]).toEqual([200, expect.stringMatching(/^attachment; filename="integrity-digests-/) as string, `${line}\n`]);
    expect(parseDigestFile(file.body, 'download')[0]?.merkleRoot).toMatch(/^[0-9a-f]{64}$/);
  });

  it('lists the sweeps newest first and every problem of one; an unknown sweep is NOT_FOUND', async () => {
    const call = await t.db.collection('history.calls').findOne({});
    await t.db.collection('history.calls').updateOne({ _id: call?._id }, { $set: { durationSec: 12345 } });
    const sweep = await new FixitySweep(t.db, { node: 'n1', pauseMs: 0, log: pino({ level: 'silent' }), shouldStop: () => false }).run();
    const admin = await login(app, ADMIN);
    const list = await app.inject({ url: '/api/v1/integrity/sweeps', headers: { cookie: admin.cookie } });
    const items = list.json<{ items: { id: string; state: string; ok: boolean; problemCounts: Record<string, number>; counts: Record<string, number> }[] }>().items;
    expect(items.map((i) => [i.id, i.state, i.ok, i.problemCounts.changed])).toEqual([[sweep?._id, 'done', false, 1]]);
    expect(items[0]?.counts.records).toBeGreaterThan(100);
    const probs = await app.inject({ url: `/api/v1/integrity/sweeps/${encodeURIComponent(sweep?._id ?? '')}/problems`, headers: { cookie: admin.cookie } });
    expect(probs.json<{ items: { kind: string; collection: string }[]; truncated: boolean }>()).toEqual({
      items: [expect.objectContaining({ kind: 'changed', area: 'record', collection: 'history.calls' }) as unknown], truncated: false,
    });
    const none = await app.inject({ url: '/api/v1/integrity/sweeps/nope/problems', headers: { cookie: admin.cookie } });
    expect([none.statusCode, none.json<{ code: string }>().code]).toEqual([404, 'NOT_FOUND']);
  });

  it('is refused to auditors (FORBIDDEN) and without a session (AUTH_REQUIRED)', async () => {
    const auditor = await login(app, AUDITOR);
    for (const url of ['/api/v1/integrity/digests', '/api/v1/integrity/digests.txt', '/api/v1/integrity/sweeps', '/api/v1/integrity/sweeps/x/problems']) {
      const r = await app.inject({ url, headers: { cookie: auditor.cookie } });
      expect([r.statusCode, r.json<{ code: string }>().code], url).toEqual([403, 'FORBIDDEN']);
      const anon = await app.inject({ url });
      expect([anon.statusCode, anon.json<{ code: string }>().code], url).toEqual([401, 'AUTH_REQUIRED']);
    }
  });
});
