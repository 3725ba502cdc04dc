import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { BSON, ObjectId, type Document } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyImport, planImport } from '../../proxy/importer/index.js';
import type { VerifyReport } from '../../proxy/integrity/verify.js';
import { AuditLog } from '../../proxy/portal/audit.js';
import { runCli } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { databaseOnlyConfig } from '../helpers/verify-config.js';
import { ARCHIVE, JOB_ID, extractedDir } from '../integration/importer/extracted-dir.js';

const log = pino({ level: 'silent' });
const oid = (n: number): ObjectId => new ObjectId(`6500000000000000000000${n.toString(16).padStart(2, '0')}`);
const path = (name: string): string => `data-retention/voicemail/${name}.wav`;
const BIG = 600_000; // three GridFS chunks of 255 KiB

/** The archive: five messages, three file records and their binaries (two of them several chunks long). */
function archiveFiles(): Record<string, string | Buffer> {
  const messages = [1, 2, 3, 4, 5].map((n) => BSON.EJSON.stringify({ _id: oid(n), messageId: `m${String(n)}`, text: `hello ${String(n)}`, sentAt: new Date(1714557600000 + n) }, { relaxed: false }));
  const binaries: Record<string, Buffer> = { [path('f1')]: randomBytes(BIG), [path('f2')]: randomBytes(300), [path('f3')]: randomBytes(BIG) };
  const fileRecords = ['f1', 'f2', 'f3'].map((f, i) => BSON.EJSON.stringify({ _id: oid(16 + i), fileId: f, storagePath: path(f), size: BSON.Long.fromNumber(binaries[path(f)]?.length ?? 0) }, { relaxed: false }));
  return { 'history/messages.json': `${messages.join('\n')}\n`, 'file-management/files.json': `${fileRecords.join('\n')}\n`, ...binaries };
}

describe('retention-proxy verify (built CLI, real database)', () => {
  let t: TestDatabase;
  let config: { dir: string; configPath: string };

  const verify = async (...args: string[]): Promise<{ code: number | null; report: VerifyReport; stderr: string }> => {
    const res = await runCli(['verify', '--json', '--config', config.configPath, ...args], { timeoutMs: 120_000 });
    let report: VerifyReport;
    try {
      report = JSON.parse(res.stdout) as VerifyReport;
    } catch {
      throw new Error(`verify printed no JSON report (exit ${String(res.code)}):\n${res.stdout}\n${res.stderr}`);
    }
    return { code: res.code, report, stderr: res.stderr };
  };
  const named = (r: VerifyReport): string[] => r.problems.map((p) => `${p.kind} ${p.area} ${p.collection} ${p.id}`).sort();

  beforeAll(async () => {
    t = await testDatabase('verifycli');
    config = await databaseOnlyConfig(t.name);
    const x = await extractedDir(archiveFiles());
    try {
      await applyImport(t.db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log });
    } finally {
      await x.remove();
    }
    const audit = new AuditLog(t.db);
    await audit.ensureIndexes();
    for (let i = 1; i <= 10; i++) {
      await audit.record({ user: 'alice', role: 'auditor', action: 'record.view', target: `history.messages/${String(i)}`, ip: '127.0.0.1', userAgent: 'test', outcome: 'ok' });
    }
  });
  afterAll(async () => {
    await t?.drop();
    if (config) await rm(config.dir, { recursive: true, force: true });
  });

  it('reports a freshly imported database as clean and exits 0', async () => {
    const { code, report } = await verify();
    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
    expect(report.counts).toMatchObject({ records: 8, mediaFiles: 3, mediaBytes: 2 * BIG + 300, auditEntries: 10, legacyAuditEntries: 0 });
    expect(report.auditHead?.seq).toBe(10);
    const text = await runCli(['verify', '--config', config.configPath]);
    expect([text.code, text.stdout.trim()]).toEqual([0, expect.stringMatching(/: clean$/) as string]);
  });

  it('names exactly each tampered record, chunk, files document and audit entry, and nothing else; exits 1', async () => {
    const { db } = t;
    // One field of one record.
    await db.collection('history.messages').updateOne({ _id: oid(2) }, { $set: { text: 'hello 2, edited' } });
    // One byte of one GridFS chunk.
    const chunks = db.collection('media.chunks');
    const c1 = await chunks.findOne({ files_id: path('f1'), n: 1 } as Document);
    const bytes = Buffer.from((c1?.data as BSON.Binary).buffer);
    bytes[1000] = (bytes[1000] ?? 0) ^ 0xff;
    await chunks.updateOne({ _id: c1?._id }, { $set: { data: new BSON.Binary(bytes) } });
    // One chunk deleted; one files document deleted (its chunks stay, its file record points at nothing).
    await chunks.deleteOne({ files_id: path('f3'), n: 1 });
    await db.collection('media.files').deleteOne({ _id: path('f2') } as Document);
    // Audit: one entry edited, one deleted, one forged at the end.
    const auditCol = db.collection('portal.audit');
    await auditCol.updateOne({ seq: 3 }, { $set: { user: 'mallory' } });
    await auditCol.deleteOne({ seq: 6 });
    await auditCol.insertOne({ at: new Date(), user: 'mallory', role: 'admin', action: 'logout', target: 'users/mallory', ip: '127.0.0.1', userAgent: 'x', outcome: 'ok', seq: 11, prevHash: 'f'.repeat(64), hash: 'e'.repeat(64) });

    const { code, report } = await verify();
    expect(named(report)).toEqual([
      'changed audit portal.audit seq 3',
      `changed media media.files ${path('f1')}`,
      `changed record history.messages {"$oid":"${oid(2).toHexString()}"}`,
      'inserted audit portal.audit seq 11',
      `missing media media.files ${path('f2')}`,
      `missing media media.files ${path('f3')}`,
      'removed audit portal.audit seq 6',
      `untracked media media.chunks ${path('f2')}`,
    ]);
    expect(code).toBe(1);
    const text = await runCli(['verify', '--config', config.configPath]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^CHANGED +record history\.messages \{"\$oid":"650000000000000000000002"\}: content does not match _retention\.sha256 \(recorded [0-9a-f]{64}, computed [0-9a-f]{64}\)$/m);
    expect(text.stdout.trim().split('\n').at(-1)).toMatch(/PROBLEMS \(changed 3, missing 2, untracked 1, removed 1, inserted 1\)$/);
  });

  it('reports untracked records and tombstoned records present again; --collection limits the check', async () => {
    await t.db.collection('history.messages').insertOne({ _id: oid(9), text: 'slipped in without a stamp' });
    await t.db.collection<{ _id: string } & Document>('retention.tombstones').insertMany([
      { _id: `history.messages|{"$oid":"${oid(4).toHexString()}"}`, collection: 'history.messages', recordId: oid(4), sha256: 'a'.repeat(64), policyId: 'p1', runId: 'r1', destroyedAt: new Date(), kind: 'record' },
      { _id: `history.messages|{"$oid":"${oid(40).toHexString()}"}`, collection: 'history.messages', recordId: oid(40), sha256: 'b'.repeat(64), policyId: 'p1', runId: 'r1', destroyedAt: new Date(), kind: 'record' },
      // A tombstone no policy run wrote: it must not silence the record's absence.
      { _id: `history.messages|{"$oid":"${oid(41).toHexString()}"}`, collection: 'history.messages', recordId: oid(41), sha256: 'c'.repeat(64), policyId: 'p1', runId: 'no-such-run', destroyedAt: new Date(), kind: 'record' },
    ]);
    await t.db.collection<{ _id: string } & Document>('retention.runs').insertOne({ _id: 'r1', state: 'done', policyIds: ['p1'] });
    const { code, report } = await verify('--collection', 'history.messages');
    expect(named(report)).toEqual([
      `changed record history.messages {"$oid":"${oid(2).toHexString()}"}`,
      `tombstone-unproven record history.messages {"$oid":"${oid(41).toHexString()}"}`,
      `tombstoned-present record history.messages {"$oid":"${oid(4).toHexString()}"}`,
      `untracked record history.messages {"$oid":"${oid(9).toHexString()}"}`,
    ]);
    expect([code, report.counts.tombstones, report.counts.auditEntries]).toEqual([1, 3, 0]);
  });

  it('refuses a bad --since with USAGE and exit 2', async () => {
    const res = await runCli(['verify', '--since', 'last tuesday', '--config', config.configPath]);
    expect([res.code, res.stderr]).toEqual([2, expect.stringContaining('USAGE') as string]);
  });

  it('refuses --collection naming a collection that holds no records (portal.users, media.chunks) with USAGE and exit 2', async () => {
    for (const name of ['portal.users', 'media.chunks', 'retention.tombstones']) {
      const res = await runCli(['verify', '--collection', name, '--config', config.configPath]);
      expect([res.code, res.stderr], name).toEqual([2, expect.stringContaining('USAGE') as string]);
    }
  });
});
