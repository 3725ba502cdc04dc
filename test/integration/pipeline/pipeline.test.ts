import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatArchiveName, parseArchiveName } from '../../../proxy/archive/archive-name.js';
import type { PipelineContext } from '../../../proxy/pipeline/context.js';
import { runSyncCycle, type CycleSummary } from '../../../proxy/pipeline/sync-cycle.js';
import { publishDayArchive } from '../../../proxy/vendor-sim/generate/publish-archive.js';
import { centralEntries, dataStart, renameEntry } from '../../helpers/archive-tools.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { byCollection, importedCounts } from '../../helpers/imported.js';
import { startReportReceiver, type ReportReceiver } from '../../helpers/report-receiver.js';
import { startSshd, type SshdHandle } from '../../helpers/sshd.js';
import { presentCounts, recordIdsOf } from '../../helpers/archive-records.js';
import { KEY, SECRET, pipelineContext } from './pipeline-context.js';

const run = promisify(execFile);
const SERVICE = 'svc7';

/**
 * The whole pipeline in-process against OpenSSH sshd and the real database, with archives re-packed by the
 * real 7z (AES-256) and Info-ZIP zip (ZipCrypto), plus one archive of each bad kind.
 */
describe('sync cycle against OpenSSH sshd with archives made by 7z and zip', () => {
  let sshd: SshdHandle;
  let tdb: TestDatabase;
  let receiver: ReportReceiver;
  let ctx: PipelineContext;
  let summary: CycleSummary;
  let expectedCounts: Record<string, number>;
  let ids: Map<string, unknown[]>;
  const names: Record<string, string> = {};
  let day = 0;
  const nameFor = (tag: string): string => {
    day++;
    const name = formatArchiveName(SERVICE, randomUUID(), new Date(Date.UTC(2026, 7, day, 3)));
    names[tag] = name;
    return name;
  };

  beforeAll(async () => {
    sshd = await startSshd();
    tdb = await testDatabase('pipeline');
    receiver = await startReportReceiver(SECRET);
    ctx = await pipelineContext(sshd, tdb, receiver.url);

    // Realistic content from the simulator's generator, unpacked by the real 7z.
    const work = await mkdtemp(join(tmpdir(), 'rp-pipe-src-'));
    const gen = await publishDayArchive({ dataDir: work, archiveKey: KEY, encryption: 'aes-256', serviceId: SERVICE, jobId: randomUUID(), createdAt: new Date(), seed: 'pipeline', records: 300, mediaBytes: 64 * 1024 });
    await gen.completed;
    expectedCounts = byCollection(gen.recordCounts);
    ids = await recordIdsOf(gen.path, KEY);
    const src = join(work, 'src');
    await run('7z', ['x', '-y', `-p${KEY}`, `-o${src}`, gen.path]);
    // manifest.json names the vendor's serviceId, jobId and createdAt, which must be those of the archive's name, and
    // these copies get new names: each gets the manifest rewritten for its name.
    const manifestText = await readFile(join(src, 'manifest.json'), 'utf8');
    const manifestAs = (name: string): Record<string, unknown> => {
      const parsed = parseArchiveName(name);
      return { ...(JSON.parse(manifestText) as Record<string, unknown>), serviceId: parsed?.serviceId, jobId: parsed?.jobId, createdAt: parsed?.createdAt.toISOString() };
    };
    const manifestFor = async (tag: string): Promise<string> => {
      const name = nameFor(tag);
      await writeFile(join(src, 'manifest.json'), JSON.stringify(manifestAs(name)));
      return name;
    };
    const root = sshd.root;

    await run('7z', ['a', '-tzip', '-mem=AES256', `-p${KEY}`, join(root, await manifestFor('aes7z')), '.'], { cwd: src });
    await run('zip', ['-r', '-q', '-P', KEY, join(root, await manifestFor('zipcrypto')), '.'], { cwd: src });
    await run('7z', ['a', '-tzip', '-mem=AES256', '-pOther-Key-99', join(root, await manifestFor('wrongKey')), '.'], { cwd: src });
    await run('zip', ['-r', '-q', join(root, await manifestFor('plain')), '.'], { cwd: src });
    // Integrity beyond what WinZip AES authenticates: a valid archive published under another job's name, and one
    // without manifest.json (archive.requireManifest is on by default).
    await copyFile(join(root, names.aes7z ?? ''), join(root, nameFor('renamed')));
    await run('zip', ['-r', '-q', '-P', KEY, join(root, nameFor('noManifest')), '.', '-x', 'manifest.json'], { cwd: src });

    // One flipped byte inside the biggest entry's encrypted data.
    const good = await readFile(join(root, names.aes7z ?? ''));
    const biggest = centralEntries(good).sort((a, b) => b.compressedSize - a.compressedSize)[0];
    const corrupt = Buffer.from(good);
    const at = dataStart(corrupt, biggest?.name ?? '') + Math.floor((biggest?.compressedSize ?? 40) / 2);
    corrupt[at] = (corrupt[at] ?? 0) ^ 0xff;
    await writeFile(join(root, nameFor('corrupt')), corrupt);

    // Zip slip: an entry renamed to climb out of the extraction directory.
    const slipSrc = await mkdtemp(join(tmpdir(), 'rp-slip-'));
    await writeFile(join(slipSrc, 'evil-entry-name.json'), '{"_id":1}\n');
    const slipZip = join(work, 'slip.zip');
    await run('zip', ['-q', '-P', KEY, slipZip, 'evil-entry-name.json'], { cwd: slipSrc });
    const slip = await readFile(slipZip);
    renameEntry(slip, 'evil-entry-name.json', '../../../evil-x.json');
    await writeFile(join(root, nameFor('zipSlip')), slip);

    // A record file that is not Extended JSON.
    const badSrc = await mkdtemp(join(tmpdir(), 'rp-bad-'));
    await run('mkdir', ['-p', join(badSrc, 'history')]);
    const badText = '{"_id":"m1","text":"ok"}\n{"_id":"m2", not json\n';
    await writeFile(join(badSrc, 'history', 'messages.json'), badText);
    const badName = nameFor('badRecord');
    await writeFile(join(badSrc, 'manifest.json'), JSON.stringify({
      ...manifestAs(badName), records: { 'history/messages.json': 2 },
      entries: [{ path: 'history/messages.json', size: badText.length, sha256: createHash('sha256').update(badText).digest('hex') }],
    }));
    await run('7z', ['a', '-tzip', '-mem=AES256', `-p${KEY}`, join(root, badName), '.'], { cwd: badSrc });

    // manifest.json that promises one record more than the file has.
    const manSrc = await mkdtemp(join(tmpdir(), 'rp-man-'));
    await run('cp', ['-r', `${src}/.`, manSrc]);
    const manifestName = nameFor('manifest');
    const manifest = manifestAs(manifestName) as { records: Record<string, number> };
    const firstKey = Object.keys(manifest.records)[0] ?? '';
    manifest.records[firstKey] = (manifest.records[firstKey] ?? 0) + 1;
    await writeFile(join(manSrc, 'manifest.json'), JSON.stringify(manifest));
    await run('7z', ['a', '-tzip', '-mem=AES256', `-p${KEY}`, join(root, manifestName), '.'], { cwd: manSrc });

    await writeFile(join(root, nameFor('notZip')), randomBytes(4096));
    await writeFile(join(root, 'README.txt'), 'not an archive');
    await copyFile(join(root, names.aes7z ?? ''), join(root, 'backup_other_name.zip'));

    summary = await runSyncCycle(ctx, { loggedIgnored: new Set() });
  }, 180_000);

  afterAll(async () => {
    await receiver?.close();
    await tdb?.drop();
    await sshd?.stop();
  });

  const stateOf = (tag: string): { state: string; code?: string } => {
    const a = summary.archives.find((x) => x.fileName === names[tag]);
    return a?.error ? { state: a.state, code: a.error.code } : { state: a?.state ?? 'missing' };
  };

  it('ignores names that are not archive names', () => {
    expect(summary.ignored).toEqual(expect.arrayContaining(['README.txt', 'backup_other_name.zip']));
  });

  it.each(['aes7z', 'zipcrypto'])('imports the %s archive, counts match, and reports downloading then downloaded', async (tag) => {
    expect(stateOf(tag)).toEqual({ state: 'reported' });
    const job = await ctx.jobs.get(names[tag] ?? '');
    // Both archives hold the same records: each must be complete by _id; the job's own counts match the content.
    expect(await presentCounts(tdb.db, ids)).toEqual(expectedCounts);
    expect(Object.fromEntries((job?.recordCounts ?? []).map((c) => [c.collection, c.records]))).toEqual(expectedCounts);
    expect(await tdb.db.collection('media.files').countDocuments()).toBeGreaterThan(0);
    expect(receiver.reports.filter((r) => r.fileName === names[tag]).map((r) => r.status)).toEqual(['downloading', 'downloaded']);
  });

  it('makes the integrity digest of each UTC day it imported an archive of (integrity.enabled), kept and audited', async () => {
    const digests = await tdb.db.collection<{ day: string; archives: string[]; records: number; files: number }>('integrity.digests').find().toArray();
    for (const tag of ['aes7z', 'zipcrypto']) {
      const day = (await ctx.jobs.get(names[tag] ?? ''))?.archiveCreatedAt.toISOString().slice(0, 10);
      expect(digests.filter((d) => d.day === day).map((d) => d.archives), tag).toEqual([[names[tag]]]);
    }
    // Both archives deliver the same records: each record counts toward the day of the archive that stamped it last.
    const stamped = await tdb.db.collection('history.messages').countDocuments({ '_retention.archive': { $in: [names.aes7z, names.zipcrypto] } });
    expect(stamped).toBeGreaterThan(0);
    expect(await tdb.db.collection('portal.audit').countDocuments({ action: 'integrity.digest' })).toBe(digests.length);
  });

  it.each([
    ['wrongKey', 'ARCHIVE_WRONG_KEY'],
    ['plain', 'ARCHIVE_NOT_ENCRYPTED'],
    ['corrupt', 'ARCHIVE_BAD_HMAC'],
    ['zipSlip', 'ARCHIVE_PATH_TRAVERSAL'],
    ['badRecord', 'RECORD_INVALID'],
    ['manifest', 'MANIFEST_MISMATCH'],
    ['renamed', 'MANIFEST_MISMATCH'],
    ['noManifest', 'MANIFEST_MISSING'],
    ['notZip', 'ARCHIVE_NOT_ZIP'],
  ])('refuses the %s archive with %s: failed, quarantined, nothing imported, reported "failed"', async (tag, code) => {
    expect(stateOf(tag)).toEqual({ state: 'failed', code });
    const job = await ctx.jobs.get(names[tag] ?? '');
    expect(await importedCounts(tdb.db, job?.jobId ?? '')).toEqual({ records: {}, media: 0 });
    expect(await readdir(ctx.staging.quarantineDir)).toContain(names[tag]);
    const statuses = receiver.reports.filter((r) => r.fileName === names[tag]).map((r) => r.status);
    expect(statuses).toEqual(['downloading', 'failed']);
    expect(receiver.reports.find((r) => r.fileName === names[tag] && r.status === 'failed')?.error?.code).toBe(code);
  });

  it('is not ok while any archive failed, and a second cycle changes nothing', async () => {
    expect(summary.ok).toBe(false);
    const before = { reports: receiver.reports.length, counts: await presentCounts(tdb.db, ids) };
    const again = await runSyncCycle(ctx, { loggedIgnored: new Set() });
    expect(again.outcomes).toEqual([]);
    expect(receiver.reports.length).toBe(before.reports);
    expect(await presentCounts(tdb.db, ids)).toEqual(before.counts);
  });
});
