import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArchiveName } from '../../../proxy/archive/archive-name.js';
import { JobStore, type JobCopy } from '../../../proxy/db/jobs.js';
import { ProxyError } from '../../../proxy/errors.js';
import type { PipelineContext } from '../../../proxy/pipeline/context.js';
import { removeCollected } from '../../../proxy/pipeline/remove-collected.js';
import { SftpPool } from '../../../proxy/pipeline/sftp-pool.js';
import { runSyncCycle, type CycleState } from '../../../proxy/pipeline/sync-cycle.js';
import { publishDayArchive } from '../../../proxy/vendor-sim/generate/publish-archive.js';
import { pushArchive } from '../../../proxy/vendor-sim/push/sftp-push.js';
import { copyKeyOf, normaliseFingerprint } from '../../../proxy/sftp/sources.js';
import { generateEd25519KeyPair } from '../../../proxy/vendor-sim/sftp/host-key.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { startReportReceiver, type ReportReceiver } from '../../helpers/report-receiver.js';
import { freePort, startSshd, type SshdHandle } from '../../helpers/sshd.js';
import { KEY, SECRET, pipelineContext } from './pipeline-context.js';

const SERVICE = 'svc8';
const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/**
 * The inbox layout: the vendor pushes into the customer's own SFTP servers (two loopback OpenSSH sshds stand in for
 * the two HA nodes' inboxes); the proxy collects from its own (sftp.host) and its peer's (sftp.peers) with one code
 * path, imports and reports each archive once, and removes it from every inbox only after "Data Downloaded" was
 * delivered (sftp.deleteAfterDownloaded).
 */
describe('collecting from two inboxes (sftp.peers, sftp.deleteAfterDownloaded)', () => {
  let local: SshdHandle;
  let peer: SshdHandle;
  let tdb: TestDatabase;
  let receiver: ReportReceiver;
  let work: string;
  const vendorKey = generateEd25519KeyPair();
  const state: CycleState = { loggedIgnored: new Set() };
  let day = 0;
  let skewMs = 0;

  beforeAll(async () => {
    local = await startSshd({ extraAuthorizedKeys: [vendorKey.public] });
    peer = await startSshd({ clientPrivateKey: local.privateKey, extraAuthorizedKeys: [vendorKey.public] });
    tdb = await testDatabase('inbox_peers');
    receiver = await startReportReceiver(SECRET);
    work = await mkdtemp(join(tmpdir(), 'rp-inbox-'));
  });
  afterAll(async () => {
    await Promise.all([local?.stop(), peer?.stop(), receiver?.close(), tdb?.drop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A context collecting from `local` (sftp.host) and the given peers; `remoteDir: '.'` is each sshd's own root. */
  async function context(opts: { peers?: { host: string; port: number; hostKeyFingerprint: string }[]; deleteAfterDownloaded?: boolean } = {}): Promise<PipelineContext> {
    const ctx = await pipelineContext(local, tdb, receiver.url, {
      sftp: {
        host: local.host, port: local.port, username: local.username, privateKey: local.privateKey, hostKeyFingerprint: local.hostKeyFingerprint,
        settleSeconds: 0.1, remoteDir: '.',
        peers: opts.peers ?? [{ host: peer.host, port: peer.port, hostKeyFingerprint: peer.hostKeyFingerprint }],
        deleteAfterDownloaded: opts.deleteAfterDownloaded ?? true,
      },
      integrity: { enabled: false },
    });
    // Report retries wait in backoff: tests move this clock on instead of sleeping.
    return { ...ctx, now: () => new Date(Date.now() + skewMs) };
  }

  /** The vendor simulator's push: generate a day, upload it with the vendor's key (.uploading, rename, .sha256). */
  async function pushDay(to: SshdHandle): Promise<{ fileName: string; path: string; sha256: string }> {
    day++;
    const dir = await mkdtemp(join(work, 'day-'));
    const pub = await publishDayArchive({
      dataDir: dir, archiveKey: KEY, encryption: 'aes-256', serviceId: SERVICE, jobId: randomUUID(),
      createdAt: new Date(Date.UTC(2026, 8, day, 2)), seed: 'inbox', records: 30, mediaBytes: 2048,
    });
    await pushTo(to, pub.path, pub.fileName, pub.sha256);
    return pub;
  }
  const pushTo = (to: SshdHandle, path: string, fileName: string, sha256: string): Promise<void> =>
    pushArchive({ host: to.host, port: to.port, username: to.username, privateKey: vendorKey.private, hostKeyFingerprint: to.hostKeyFingerprint, remoteDir: '.' }, path, fileName, sha256);
  const onServer = async (to: SshdHandle, fileName: string): Promise<[boolean, boolean]> =>
    [await exists(join(to.root, fileName)), await exists(join(to.root, `${fileName}.sha256`))];
  const delivered = (fileName: string): number => receiver.reports.filter((r) => r.fileName === fileName && r.status === 'downloaded').length;

  it('imports what landed on either inbox, and removes each archive only after "Data Downloaded" was delivered', async () => {
    const ctx = await context();
    const a = await pushDay(local);
    const b = await pushDay(peer);
    expect(await onServer(local, a.fileName)).toEqual([true, true]);

    receiver.failNext = 1000; // the vendor's status endpoint is down
    const first = await runSyncCycle(ctx, state);
    expect(first.ok).toBe(false);
    for (const p of [a, b]) expect((await ctx.jobs.get(p.fileName))?.state).toBe('imported');
    expect((await ctx.jobs.get(b.fileName))?.server).toBe(peer.hostKeyFingerprint.replace(/=+$/, ''));
    // Imported, but "Data Downloaded" not delivered: both archives stay where the vendor put them.
    expect(await onServer(local, a.fileName)).toEqual([true, true]);
    expect(await onServer(peer, b.fileName)).toEqual([true, true]);

    receiver.failNext = 0;
    skewMs += 60_000;
    const second = await runSyncCycle(ctx, state);
    expect(second.ok).toBe(true);
    expect(second.warnings).toEqual([]);
    for (const p of [a, b]) {
      expect(delivered(p.fileName)).toBe(1);
      expect((await ctx.jobs.get(p.fileName))?.remoteRemovedAt).toBeInstanceOf(Date);
    }
    expect(await onServer(local, a.fileName)).toEqual([false, false]);
    expect(await onServer(peer, b.fileName)).toEqual([false, false]);
  });

  it('imports and reports once an archive uploaded to both inboxes (a retry after a failover), and removes both copies', async () => {
    const ctx = await context();
    const a = await pushDay(local);
    await pushTo(peer, a.path, a.fileName, a.sha256);
    const summary = await runSyncCycle(ctx, state);
    expect(summary.ok).toBe(true);
    expect(summary.archives.filter((s) => s.fileName === a.fileName)).toEqual([{ fileName: a.fileName, state: 'reported' }]);
    expect(summary.outcomes.filter((o) => o.fileName === a.fileName)).toHaveLength(1);
    expect(delivered(a.fileName)).toBe(1);
    const job = await ctx.jobs.get(a.fileName);
    expect(Object.values(job?.copies ?? {}).map((c) => c.removedAt instanceof Date)).toEqual([true, true]);
    expect(await onServer(local, a.fileName)).toEqual([false, false]);
    expect(await onServer(peer, a.fileName)).toEqual([false, false]);
  });

  it('flags ARCHIVE_COPIES_DIFFER when the two inboxes hold different content under one name, and leaves that copy alone', async () => {
    const ctx = await context();
    const a = await pushDay(local);
    const other = Buffer.from(await readFile(a.path));
    const mid = Math.floor(other.length / 2);
    other[mid] = (other[mid] ?? 0) ^ 0xff;
    const otherPath = join(work, 'other.zip');
    await writeFile(otherPath, other);
    await pushTo(peer, otherPath, a.fileName, createHash('sha256').update(other).digest('hex'));

    const summary = await runSyncCycle(ctx, state);
    expect(summary.ok).toBe(false);
    const status = summary.archives.find((s) => s.fileName === a.fileName);
    expect(status?.state).toBe('reported');
    expect(status?.error?.code).toBe('ARCHIVE_COPIES_DIFFER');
    expect(delivered(a.fileName)).toBe(1);
    // The copy that was imported is removed; the other one waits for a person.
    expect(await onServer(local, a.fileName)).toEqual([false, false]);
    expect(await onServer(peer, a.fileName)).toEqual([true, true]);
    // Someone compared the two and removed the wrong one: the next cycle clears the flag.
    await rm(join(peer.root, a.fileName));
    await rm(join(peer.root, `${a.fileName}.sha256`));
    const after = await runSyncCycle(ctx, state);
    expect(after.ok).toBe(true);
    expect(Object.keys((await ctx.jobs.get(a.fileName))?.copies ?? {})).toHaveLength(1);
  });

  it('a copy whose .sha256 appears after discovery with other content is flagged ARCHIVE_COPIES_DIFFER, not removed', async () => {
    const ctx = await context();
    const a = await pushDay(local);
    // The same name and size on the peer, other content, its sidecar not there yet when the copy is found.
    const other = Buffer.from(await readFile(a.path));
    other[0] = (other[0] ?? 0) ^ 0xff;
    await writeFile(join(peer.root, a.fileName), other);
    receiver.failNext = 1000; // not reported yet: nothing is removed in this cycle
    await runSyncCycle(ctx, state);
    const found = await ctx.jobs.get(a.fileName);
    expect(Object.values(found?.copies ?? {}).map((c) => c.differs ?? false)).toEqual([false, false]);

    await writeFile(join(peer.root, `${a.fileName}.sha256`), `${createHash('sha256').update(other).digest('hex')}  ${a.fileName}\n`);
    receiver.failNext = 0;
    skewMs += 60_000;
    const summary = await runSyncCycle(ctx, state);
    expect(delivered(a.fileName)).toBe(1);
    expect(summary.archives.find((s) => s.fileName === a.fileName)?.error?.code).toBe('ARCHIVE_COPIES_DIFFER');
    expect(await onServer(local, a.fileName)).toEqual([false, false]);
    expect(await onServer(peer, a.fileName)).toEqual([true, true]);
    await rm(join(peer.root, a.fileName));
    await rm(join(peer.root, `${a.fileName}.sha256`));
    expect((await runSyncCycle(ctx, state)).ok).toBe(true);
  });

  it('a re-upload under the name of a copy already removed is a new copy: removed again if the same, flagged if not', async () => {
    const ctx = await context();
    const a = await pushDay(local);
    expect((await runSyncCycle(ctx, state)).ok).toBe(true);
    expect(await onServer(local, a.fileName)).toEqual([false, false]);

    await pushTo(local, a.path, a.fileName, a.sha256);
    expect((await runSyncCycle(ctx, state)).ok).toBe(true);
    expect(await onServer(local, a.fileName)).toEqual([false, false]);
    expect((await ctx.jobs.get(a.fileName))?.remoteRemovedAt).toBeInstanceOf(Date);

    const other = Buffer.from(await readFile(a.path));
    other[0] = (other[0] ?? 0) ^ 0xff;
    const otherPath = join(work, 'reupload.zip');
    await writeFile(otherPath, other);
    await pushTo(local, otherPath, a.fileName, createHash('sha256').update(other).digest('hex'));
    const summary = await runSyncCycle(ctx, state);
    expect(summary.archives.find((s) => s.fileName === a.fileName)?.error?.code).toBe('ARCHIVE_COPIES_DIFFER');
    expect(await onServer(local, a.fileName)).toEqual([true, true]);
    expect(delivered(a.fileName)).toBe(1);
    await rm(join(local.root, a.fileName));
    await rm(join(local.root, `${a.fileName}.sha256`));
    expect((await runSyncCycle(ctx, state)).ok).toBe(true);
  });

  it('removes in bounded pages: every reported job is reached even with one job per page', async () => {
    const keep = await context({ deleteAfterDownloaded: false });
    const days = [await pushDay(local), await pushDay(local)];
    expect((await runSyncCycle(keep, state)).ok).toBe(true);
    const ctx = await context();
    const pool = new SftpPool(ctx);
    try {
      expect(await removeCollected(ctx, pool, new Set(pool.sources.map((s) => s.id)), 1)).toEqual([]);
    } finally {
      await pool.dropAll();
    }
    for (const d of days) {
      expect(await onServer(local, d.fileName)).toEqual([false, false]);
      expect((await ctx.jobs.get(d.fileName))?.remoteRemovedAt).toBeInstanceOf(Date);
    }
  });

  it('still collects the local inbox while the peer is unreachable, with a warning', async () => {
    const down = await freePort();
    const ctx = await context({ peers: [{ host: '127.0.0.1', port: down, hostKeyFingerprint: peer.hostKeyFingerprint }] });
    const a = await pushDay(local);
    const summary = await runSyncCycle(ctx, state);
    expect(summary.ok).toBe(true);
    expect(summary.archives.find((s) => s.fileName === a.fileName)?.state).toBe('reported');
    expect(summary.warnings).toHaveLength(1);
    expect(summary.warnings[0]).toMatchObject({ code: 'SFTP_CONNECT_FAILED', server: `127.0.0.1:${down}` });
    expect(await onServer(local, a.fileName)).toEqual([false, false]);
  });

  it("downloads from another server only a copy whose published checksum is known and equals the archive's", async () => {
    const down = await freePort();
    const ctx = await context({ peers: [{ host: '127.0.0.1', port: down, hostKeyFingerprint: peer.hostKeyFingerprint }] });
    const a = await pushDay(local);
    const name = parseArchiveName(a.fileName);
    const onLocal = await stat(join(local.root, a.fileName));
    const id = (fp: string): string => normaliseFingerprint(fp);
    const localCopy: JobCopy = { server: id(local.hostKeyFingerprint), label: 'local', size: onLocal.size, mtimeMs: Math.floor(onLocal.mtimeMs / 1000) * 1000 };
    // Found first on the peer (now unreachable) with its checksum; the local copy was recorded without one.
    expect(await ctx.jobs.discover({
      fileName: a.fileName, serviceId: name?.serviceId ?? '', jobId: name?.jobId ?? '', siteId: ctx.config.siteId, archiveCreatedAt: name?.createdAt ?? new Date(),
      source: 'sftp', remoteSize: onLocal.size, remoteMtimeMs: 0, server: id(peer.hostKeyFingerprint), publishedSha256: a.sha256,
      copies: { [copyKeyOf(peer.hostKeyFingerprint)]: { server: id(peer.hostKeyFingerprint), label: 'peer', size: onLocal.size, mtimeMs: 0, publishedSha256: a.sha256 }, [copyKeyOf(local.hostKeyFingerprint)]: localCopy },
    })).toBe(true);
    await runSyncCycle(ctx, state);
    const waiting = await ctx.jobs.get(a.fileName);
    expect(waiting?.server).toBe(id(peer.hostKeyFingerprint));
    expect(['discovered', 'downloading']).toContain(waiting?.state);

    await ctx.jobs.col.updateOne({ _id: a.fileName }, { $set: { [`copies.${copyKeyOf(local.hostKeyFingerprint)}.publishedSha256`]: a.sha256, nextAttemptAt: new Date(0) } });
    await runSyncCycle(ctx, state);
    const done = await ctx.jobs.get(a.fileName);
    expect(done?.server).toBe(id(local.hostKeyFingerprint));
    expect(done?.state).toBe('reported');
  });

  it('a deposed leader removes nothing; the removal is finished later from the job state', async () => {
    const keep = await context({ deleteAfterDownloaded: false });
    const a = await pushDay(local);
    expect((await runSyncCycle(keep, state)).ok).toBe(true);
    expect(await onServer(local, a.fileName)).toEqual([true, true]);

    // A newer leader (token 7) has written the job; this node still believes it leads with token 5.
    await keep.jobs.col.updateOne({ _id: a.fileName }, { $set: { fence: 7 } });
    const base = await context();
    const stale: PipelineContext = { ...base, jobs: new JobStore(tdb.db, 5000, base.now, { token: () => 5 }) };
    const err: unknown = await runSyncCycle(stale, state).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as ProxyError).code).toBe('LEASE_LOST');
    expect(await onServer(local, a.fileName)).toEqual([true, true]);

    const leader: PipelineContext = { ...base, jobs: new JobStore(tdb.db, 5000, base.now, { token: () => 8 }) };
    expect((await runSyncCycle(leader, state)).ok).toBe(true);
    expect(await onServer(local, a.fileName)).toEqual([false, false]);
    expect((await leader.jobs.get(a.fileName))?.remoteRemovedAt).toBeInstanceOf(Date);
  });
});
