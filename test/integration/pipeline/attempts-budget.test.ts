import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineContext } from '../../../proxy/pipeline/context.js';
import { runSyncCycle } from '../../../proxy/pipeline/sync-cycle.js';
import { publishDayArchive, type PublishedArchive } from '../../../proxy/vendor-sim/generate/publish-archive.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { startReportReceiver, type ReportReceiver } from '../../helpers/report-receiver.js';
import { startSshd, type SshdHandle } from '../../helpers/sshd.js';
import { KEY, SECRET, pipelineContext } from './pipeline-context.js';

/**
 * Issue 11 item 4: only corrupt transfers use up `schedule.maxAttempts` (3 here); transient failures do not, and a
 * REMOTE_FILE_CHANGED refetch expects the size the server has now.
 */
describe('the budget for corrupt transfers', () => {
  let sshd: SshdHandle;
  let tdb: TestDatabase;
  let receiver: ReportReceiver;
  let ctx: PipelineContext;
  let day = 0;

  beforeAll(async () => {
    sshd = await startSshd();
    tdb = await testDatabase('budget');
    receiver = await startReportReceiver(SECRET);
    ctx = await pipelineContext(sshd, tdb, receiver.url);
  });
  afterAll(async () => {
    await receiver?.close();
    await tdb?.drop();
    await sshd?.stop();
  });

  const publish = async (): Promise<PublishedArchive> => {
    day++;
    const p = await publishDayArchive({
      dataDir: sshd.root, archiveKey: KEY, encryption: 'aes-256', serviceId: 'svc-budget', jobId: randomUUID(),
      createdAt: new Date(Date.UTC(2026, 6, day, 3)), seed: 'budget', records: 60, mediaBytes: 4096,
    });
    await p.completed;
    return p;
  };
  const cycle = (): ReturnType<typeof runSyncCycle> => runSyncCycle(ctx, { loggedIgnored: new Set() });
  const makeDue = (fileName: string): Promise<unknown> => ctx.jobs.col.updateOne({ _id: fileName }, { $set: { nextAttemptAt: new Date(0) } });

  it('a checksum mismatch after many transient failures is retried, not failed', async () => {
    const p = await publish();
    const sidecar = `${p.path}.sha256`;
    await writeFile(sidecar, `${'0'.repeat(64)}  ${p.fileName}\n`);
    await cycle();
    // Discovered, downloaded once, refused by the (wrong) published checksum: a retry.
    let job = await ctx.jobs.get(p.fileName);
    expect(job?.error?.code).toBe('DOWNLOAD_CHECKSUM_MISMATCH');
    expect(job?.refetches).toBe(1);
    // A flaky night: many transient failures on top.
    await ctx.jobs.col.updateOne({ _id: p.fileName }, { $set: { attempts: 12 } });
    await makeDue(p.fileName);
    await cycle();
    job = await ctx.jobs.get(p.fileName);
    expect(job?.state).toBe('downloading');
    expect(job?.refetches).toBe(2);
    expect(job?.attempts).toBe(13);

    // The vendor publishes the right checksum: it goes through.
    await writeFile(sidecar, `${p.sha256}  ${p.fileName}\n`);
    await makeDue(p.fileName);
    await cycle();
    expect((await ctx.jobs.get(p.fileName))?.state).toBe('reported');
  });

  it('fails the archive after schedule.maxAttempts corrupt transfers', async () => {
    const p = await publish();
    await writeFile(`${p.path}.sha256`, `${'1'.repeat(64)}  ${p.fileName}\n`);
    for (let i = 0; i < 3; i++) {
      await makeDue(p.fileName);
      await cycle();
    }
    const job = await ctx.jobs.get(p.fileName);
    expect(job?.state).toBe('failed');
    expect(job?.error?.message).toMatch(/after 3 corrupt transfers/);
    await rm(`${p.path}.sha256`, { force: true });
  });

  it('a REMOTE_FILE_CHANGED refetch expects the new size, and succeeds', async () => {
    // Discovered when the file had another size (the vendor replaced it since).
    const other = await publish();
    await ctx.jobs.discover({
      fileName: other.fileName, serviceId: 'svc-budget', jobId: other.jobId, siteId: ctx.config.siteId,
      archiveCreatedAt: other.createdAt, source: 'sftp', remoteSize: other.bytes - 100, remoteMtimeMs: 0,
    });
    await cycle();
    let job = await ctx.jobs.get(other.fileName);
    expect(job?.error?.code).toBe('REMOTE_FILE_CHANGED');
    expect(job?.remoteSize).toBe(other.bytes);
    await makeDue(other.fileName);
    await cycle();
    job = await ctx.jobs.get(other.fileName);
    expect(job?.state).toBe('reported');
    expect(job?.bytes).toBe(other.bytes);
  });
});
