import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseArchiveName } from '../../../proxy/archive/archive-name.js';
import type { PipelineContext } from '../../../proxy/pipeline/context.js';
import { processJob } from '../../../proxy/pipeline/process-job.js';
import { SyncRunner } from '../../../proxy/pipeline/sync-runner.js';
import { publishDayArchive } from '../../../proxy/vendor-sim/generate/publish-archive.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { startReportReceiver, type ReportReceiver } from '../../helpers/report-receiver.js';
import { startSshd, type SshdHandle } from '../../helpers/sshd.js';
import { KEY, SECRET, pipelineContext } from './pipeline-context.js';

/** How long each test watches the runner: several times the 1 s floor of the retry timer. */
const WATCH_MS = 5_000;

/**
 * Issue 11 item 2: the SyncRunner with its real retry timer (the daemon's), counting cycles by the SFTP connections
 * it log. Retries are 30 s away (the default base), so within the watch only a spinning timer runs a second cycle.
 */
describe('the retry timer runs a cycle only when a retry is due', () => {
  let sshd: SshdHandle;
  let receiver: ReportReceiver;
  let work: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    sshd = await startSshd();
    receiver = await startReportReceiver(SECRET);
    work = await mkdtemp(join(tmpdir(), 'rp-retry-timer-'));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  afterAll(async () => {
    await receiver?.close();
    await sshd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A runner on a fresh database whose cycles are counted. */
  const counted = async (tag: string): Promise<{ ctx: PipelineContext; runner: SyncRunner; cycles: () => number; tdb: TestDatabase }> => {
    const tdb = await testDatabase(`retry_${tag}`);
    const base = await pipelineContext(sshd, tdb, receiver.url, { schedule: { retryBaseSeconds: 30, retryMaxSeconds: 60, maxAttempts: 3 } });
    // The runner logs "sync cycle starting" once per cycle it starts.
    let started = 0;
    const log = pino({ level: 'info' }, new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.includes('"msg":"sync cycle starting"')) started++;
        cb();
      },
    }));
    const ctx: PipelineContext = { ...base, log };
    const runner = new SyncRunner(ctx, { retryTimer: true });
    cleanups.push(async () => {
      runner.stop();
      await runner.idle();
      await tdb.drop();
    });
    return { ctx, runner, cycles: () => started, tdb };
  };

  it('does not spin while the vendor endpoint is down (a report in backoff blocks the next one of its archive)', async () => {
    const createdAt = new Date(Date.UTC(2026, 4, 1, 3));
    const jobId = randomUUID();
    const p = await publishDayArchive({ dataDir: sshd.root, archiveKey: KEY, encryption: 'aes-256', serviceId: 'svc-timer', jobId, createdAt, seed: 'timer', records: 60, mediaBytes: 4096 });
    await p.completed;
    cleanups.push(() => Promise.all([rm(p.path, { force: true }), rm(`${p.path}.sha256`, { force: true })]));
    const { ctx, runner, cycles } = await counted('vendor');
    receiver.failNext = 1_000;
    cleanups.push(() => Promise.resolve((receiver.failNext = 0)));

    await runner.trigger('test');
    expect((await ctx.jobs.get(p.fileName))?.state).toBe('imported');
    expect(await ctx.outbox.depth()).toBe(2);
    const after = cycles();
    await sleep(WATCH_MS);
    expect(cycles()).toBe(after);
  });

  it('does not spin after an offline import (a local job stays "imported" for ever)', async () => {
    const createdAt = new Date(Date.UTC(2026, 4, 2, 3));
    const p = await publishDayArchive({ dataDir: work, archiveKey: KEY, encryption: 'aes-256', serviceId: 'svc-timer', jobId: randomUUID(), createdAt, seed: 'timer', records: 60, mediaBytes: 4096 });
    await p.completed;
    const { ctx, runner, cycles } = await counted('offline');
    const name = parseArchiveName(p.fileName);
    if (!name) throw new Error(p.fileName);
    await ctx.jobs.discover({
      fileName: p.fileName, serviceId: name.serviceId, jobId: name.jobId, siteId: ctx.config.siteId,
      archiveCreatedAt: name.createdAt, source: 'local', localPath: p.path, remoteSize: p.bytes, remoteMtimeMs: 0,
    });
    const job = await ctx.jobs.get(p.fileName);
    if (!job) throw new Error('no job');
    expect((await processJob(ctx, job, () => Promise.reject(new Error('offline')))).state).toBe('imported');

    await runner.trigger('test');
    const after = cycles();
    expect(after).toBe(1);
    await sleep(WATCH_MS);
    expect(cycles()).toBe(after);
  });

  it('still retries a failed step when its time comes', async () => {
    const { ctx, runner, cycles } = await counted('due');
    const createdAt = new Date(Date.UTC(2026, 4, 3, 3));
    const name = parseArchiveName(`backup_svc-timer_${randomUUID()}_20260503030000.zip`);
    if (!name) throw new Error('name');
    // A job whose download is waiting for a retry 1.5 s from now, for an archive the server does not have.
    await ctx.jobs.discover({
      fileName: name.fileName, serviceId: name.serviceId, jobId: name.jobId, siteId: ctx.config.siteId,
      archiveCreatedAt: createdAt, source: 'sftp', remoteSize: 1, remoteMtimeMs: 0,
    });
    await ctx.jobs.col.updateOne({ _id: name.fileName }, { $set: { nextAttemptAt: new Date(Date.now() + 1_500) } });
    await runner.trigger('test');
    expect(cycles()).toBe(1);
    await sleep(3_500);
    expect(cycles()).toBe(2);
    expect((await ctx.jobs.get(name.fileName))?.attempts).toBeGreaterThan(0);
  });
});
