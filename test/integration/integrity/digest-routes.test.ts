import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDigestFile } from '../../../proxy/integrity/digest.js';
import { makeDigest } from '../../../proxy/integrity/digest-service.js';
import { AuditLog } from '../../../proxy/portal/audit.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ADMIN, AUDITOR, createUsers, login, portalApp } from '../../helpers/portal-app.js';
import { importSimulatorDay, PORTAL_ARCHIVE } from '../../helpers/portal-data.js';

describe('portal: integrity digests (admin)', () => {
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

  it('is refused to auditors (FORBIDDEN) and without a session (AUTH_REQUIRED)', async () => {
    const auditor = await login(app, AUDITOR);
    for (const url of ['/api/v1/integrity/digests', '/api/v1/integrity/digests.txt']) {
      const r = await app.inject({ url, headers: { cookie: auditor.cookie } });
      expect([r.statusCode, r.json<{ code: string }>().code], url).toEqual([403, 'FORBIDDEN']);
      const anon = await app.inject({ url });
      expect([anon.statusCode, anon.json<{ code: string }>().code], url).toEqual([401, 'AUTH_REQUIRED']);
    }
  });
});
