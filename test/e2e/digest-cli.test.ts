import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BSON, ObjectId } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyImport, planImport } from '../../proxy/importer/index.js';
import type { Digest } from '../../proxy/integrity/digest.js';
import { merkleRoot } from '../../proxy/integrity/merkle.js';
import type { VerifyReport } from '../../proxy/integrity/verify.js';
import { AuditLog } from '../../proxy/portal/audit.js';
import { runCli } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { databaseOnlyConfig } from '../helpers/verify-config.js';
import { ARCHIVE, JOB_ID, extractedDir } from '../integration/importer/extracted-dir.js';

const log = pino({ level: 'silent' });
const oid = (n: number): ObjectId => new ObjectId(`6600000000000000000000${n.toString(16).padStart(2, '0')}`);
const DAY = '2024-05-01'; // ARCHIVE is backup_svc-1_<job>_20240501020000.zip

describe('retention-proxy digest, and verify --digest FILE (built CLI, real database)', () => {
  let t: TestDatabase;
  let config: { dir: string; configPath: string };
  let line = '';
  const digestFile = (): string => join(config.dir, 'kept-digests.txt');

  beforeAll(async () => {
    t = await testDatabase('digestcli');
    config = await databaseOnlyConfig(t.name);
    const messages = [1, 2, 3].map((n) => BSON.EJSON.stringify({ _id: oid(n), text: `m${String(n)}` }, { relaxed: false }));
    const x = await extractedDir({ 'history/messages.json': `${messages.join('\n')}\n`, 'data-retention/room-file/a.bin': randomBytes(1000) });
    try {
      await applyImport(t.db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log });
    } finally {
      await x.remove();
    }
    // The job document the pipeline keeps for the archive (only what the digest reads).
    await t.db.collection<{ _id: string; archiveCreatedAt: Date; state: string }>('proxy.jobs').insertOne({ _id: ARCHIVE, archiveCreatedAt: new Date('2024-05-01T02:00:00Z'), state: 'reported' });
    const audit = new AuditLog(t.db);
    await audit.ensureIndexes();
    for (let i = 0; i < 3; i++) await audit.record({ user: 'alice', role: 'auditor', action: 'record.view', target: `messages/${String(i)}`, ip: '127.0.0.1', userAgent: 'test', outcome: 'ok' });
  });
  afterAll(async () => {
    await t?.drop();
    if (config) await rm(config.dir, { recursive: true, force: true });
  });

  it('prints one line with the day, its archives, counts, the Merkle root and the audit head; keeps and audits it', async () => {
    const res = await runCli(['digest', '--day', DAY, '--config', config.configPath]);
    expect(res.code, res.stderr).toBe(0);
    line = res.stdout.trim();
    expect(line.split('\n')).toHaveLength(1);
    const d = JSON.parse(line) as Digest;
    const hashes = [
      ...(await t.db.collection('history.messages').find().toArray()).map((m) => (m._retention as { sha256: string }).sha256),
      ...(await t.db.collection('media.files').find().toArray()).map((f) => (f.metadata as { sha256: string }).sha256),
    ];
    expect(d).toMatchObject({ v: 1, day: DAY, site: 'verify-test', archives: [ARCHIVE], records: 3, files: 1, merkleRoot: merkleRoot(hashes), auditHead: { seq: 3 } });
    expect(d.collections.map((c) => [c.collection, c.count])).toEqual([['history.messages', 3], ['media.files', 1]]);
    expect(await t.db.collection('integrity.digests').countDocuments({ day: DAY, line })).toBe(1);
    const entry = await t.db.collection('portal.audit').findOne({ action: 'integrity.digest' });
    expect(entry).toMatchObject({ seq: 4, target: `integrity.digests/${DAY}`, details: { merkleRoot: d.merkleRoot, records: 3, files: 1 } });
  });

  it('verify --since DATE checks only records and media of archives created on or after DATE', async () => {
    const counts = async (since: string): Promise<[number | null, number, number]> => {
      const res = await runCli(['verify', '--since', since, '--json', '--config', config.configPath]);
      const r = JSON.parse(res.stdout) as VerifyReport;
      return [res.code, r.counts.records, r.counts.mediaFiles];
    };
    expect(await counts(DAY)).toEqual([0, 3, 1]);
    expect(await counts('2024-05-01T02:00:01Z')).toEqual([0, 0, 0]);
  });

  it('verify --digest: a record destroyed by a retention run since keeps its day\'s digest and is listed as DESTROYED (exit 0)', async () => {
    await writeFile(digestFile(), `${line}\n`);
    const messages = t.db.collection('history.messages');
    const doomed = (await messages.findOne({ _id: oid(3) }, { promoteValues: false, promoteLongs: false, promoteBuffers: false })) as BSON.Document;
    const sha = (doomed._retention as { sha256: string }).sha256;
    // What a retention policy run leaves (proxy/retention/executor.ts): its run document, the tombstone, no record.
    await t.db.collection<{ _id: string; [k: string]: unknown }>('retention.runs').insertOne({ _id: 'run-1', state: 'done', policyIds: ['p-1'], startedAt: new Date() });
    const stone = { _id: `history.messages|${BSON.EJSON.stringify(oid(3), { relaxed: false })}`, collection: 'history.messages', recordId: oid(3), kind: 'record', sha256: sha, policyId: 'p-1', runId: 'run-1', destroyedAt: new Date('2026-01-02T03:04:05Z'), archive: ARCHIVE };
    await t.db.collection<{ _id: string; [k: string]: unknown }>('retention.tombstones').insertOne(stone);
    await messages.deleteOne({ _id: oid(3) });
    try {
      const res = await runCli(['verify', '--digest', digestFile(), '--config', config.configPath]);
      expect(res.code, res.stdout + res.stderr).toBe(0);
      const out = res.stdout.trim().split('\n');
      expect(out).toHaveLength(2);
      expect(out[0]).toMatch(new RegExp(`^DESTROYED +record history.messages .*${oid(3).toHexString()}.*by policy p-1 run run-1 at 2026-01-02T03:04:05.000Z`));
      expect(out[1]).toBe(`checked 4 records and files against the digests of ${DAY} (1 of them destroyed by retention, counted by their tombstones): match`);
      const json = JSON.parse((await runCli(['verify', '--digest', digestFile(), '--json', '--config', config.configPath])).stdout) as VerifyReport;
      expect(json.destroyed).toMatchObject([{ area: 'record', collection: 'history.messages', sha256: sha, policyId: 'p-1', runId: 'run-1', archive: ARCHIVE }]);
    } finally {
      await messages.insertOne(doomed);
      await t.db.collection<{ _id: string }>('retention.tombstones').deleteOne({ _id: stone._id });
      await t.db.collection<{ _id: string }>('retention.runs').deleteOne({ _id: 'run-1' });
    }
  });

  it('verify --digest: the untouched database matches (exit 0); a changed record and a removed audit head do not (exit 1)', async () => {
    await writeFile(digestFile(), `# kept in the ticket system\n${line}\n`);
    const ok = await runCli(['verify', '--digest', digestFile(), '--config', config.configPath]);
    expect([ok.code, ok.stdout.trim()]).toEqual([0, `checked 4 records and files against the digests of ${DAY}: match`]);

    await t.db.collection('history.messages').updateOne({ _id: oid(2) }, { $set: { text: 'm2, edited' } });
    await t.db.collection('portal.audit').deleteOne({ seq: 3 });
    const bad = await runCli(['verify', '--digest', digestFile(), '--json', '--config', config.configPath]);
    const report = JSON.parse(bad.stdout) as VerifyReport;
    expect(report.problems.map((p) => `${p.kind} ${p.area} ${p.collection} ${p.id}`)).toEqual([
      `changed digest history.messages day ${DAY}`,
      `changed digest * day ${DAY}`,
      'removed digest portal.audit seq 3',
    ]);
    expect(bad.code).toBe(1);
  });

  it('refuses a file without digest lines, and --digest with --since, with USAGE (exit 2)', async () => {
    await writeFile(digestFile(), 'not a digest\n');
    const res = await runCli(['verify', '--digest', digestFile(), '--config', config.configPath]);
    expect([res.code, res.stderr]).toEqual([2, expect.stringContaining('USAGE') as string]);
    const both = await runCli(['verify', '--digest', digestFile(), '--since', DAY, '--config', config.configPath]);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('USAGE') as string]);
  });
});
