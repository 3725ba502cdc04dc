import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { checkDatabase } from '../../../proxy/check/run-checks.js';
import { configFromObject } from '../../../proxy/config/load-config.js';
import { JobStore } from '../../../proxy/db/jobs.js';
import { Outbox, reportIdFor } from '../../../proxy/db/outbox.js';
import { readReplicaSetHealth } from '../../../proxy/ha/replica-set-health.js';
import { applyImport, planImport } from '../../../proxy/importer/index.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID, extractedDir } from './extracted-dir.js';

const log = pino({ level: 'silent' });
const WRITES = new Set(['insert', 'update', 'delete', 'findAndModify']);

/** Issue 11 item 9: every write that must survive asks for `j: true` with the majority; `check` judges the deployment. */
describe('durability of acknowledged writes', () => {
  let tdb: TestDatabase;
  let client: MongoClient;
  const seen: CommandStartedEvent[] = [];

  beforeAll(async () => {
    tdb = await testDatabase('durability');
    client = new MongoClient(inject('mongoUri'), { monitorCommands: true, serverSelectionTimeoutMS: 10_000 });
    client.on('commandStarted', (e) => {
      if (WRITES.has(e.commandName)) seen.push(e);
    });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await tdb?.drop();
  });

  const concerns = (): unknown[] => seen.splice(0).map((e) => [e.commandName, (e.command).writeConcern as unknown]);

  it('import (records, a re-delivery, GridFS media) and job and outbox writes all send {w: majority, j: true}', async () => {
    const db = client.db(tdb.name);
    const x = await extractedDir({ 'history/m.json': '{"_id":1,"a":1}\n{"_id":2}\n', 'data-retention/voicemail/x.wav': Buffer.alloc(300_000, 7) });
    try {
      await applyImport(db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log });
      const later = await extractedDir({ 'history/m.json': '{"_id":1,"a":2}\n', 'data-retention/voicemail/x.wav': Buffer.alloc(300_000, 8) });
      try {
        await applyImport(db, later.dir, await planImport(later.dir, later.entries, log), { jobId: JOB_ID, archive: ARCHIVE.replace('20240501', '20240502') }, { wtimeoutMs: 10_000, log });
      } finally {
        await later.remove();
      }
    } finally {
      await x.remove();
    }
    const jobs = new JobStore(db, 10_000);
    await jobs.discover({ fileName: ARCHIVE, serviceId: 'svc-1', jobId: JOB_ID, siteId: 's', archiveCreatedAt: new Date(), source: 'local', remoteSize: 1, remoteMtimeMs: 0 });
    await jobs.transition(ARCHIVE, ['discovered'], 'downloading');
    const outbox = new Outbox(db, 10_000);
    const reportId = reportIdFor('s', ARCHIVE, 'downloading');
    await outbox.enqueue({ reportId, serviceId: 'svc-1', siteId: 's', jobId: JOB_ID, fileName: ARCHIVE, status: 'downloading', bytes: 1, fileCount: 0, recordCounts: {}, sha256: '', at: new Date().toISOString() });
    await outbox.markDelivered(reportId);

    const sent = concerns();
    // insert, update (replaces, upserts), delete (media replaced), findAndModify (upload markers, transitions)
    expect(new Set(sent.map((s) => (s as [string])[0]))).toEqual(WRITES);
    for (const s of sent) expect(s, JSON.stringify(s)).toEqual([expect.any(String), { w: 'majority', j: true, wtimeout: 10_000 }]);
  });

  it('check FAILs a deployment where an acknowledged write is on one server only, unless mongodb.allowSingleNode', async () => {
    const health = await readReplicaSetHealth(client.db(tdb.name), 10_000);
    const single = health.kind === 'standalone' || (health.kind === 'replicaSet' && health.writeMajorityCount < 2);
    const config = (allowSingleNode: boolean): Parameters<typeof checkDatabase>[0] => configFromObject({
      siteId: 'check', sftp: { host: '127.0.0.1', username: 'u', privateKey: 'unused', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` }, archive: { key: 'Check-Key-42!' },
      mongodb: { uri: inject('mongoUri'), database: tdb.name, allowSingleNode }, vendor: { statusUrl: 'http://127.0.0.1:9/s', signingSecret: 'x' },
    });
    const line = async (allow: boolean): Promise<string | undefined> => (await checkDatabase(config(allow), log)).find((l) => l.name === 'mongodb durability')?.status;
    expect(await line(false)).toBe(single ? 'FAIL' : 'PASS');
    expect(await line(true)).toBe(single ? 'WARN' : 'PASS');
    const write = (await checkDatabase(config(true), log)).find((l) => l.name === 'mongodb majority write');
    expect(write?.status).toBe('PASS');
  });
});
