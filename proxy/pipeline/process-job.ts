import { stat } from 'node:fs/promises';
import { errorCodeOf, isProxyError } from '../errors.js';
import type { JobDoc, JobState } from '../db/jobs.js';
import type { SftpSession } from '../sftp/connect.js';
import { backoffMs } from './backoff.js';
import type { PipelineContext } from './context.js';
import { downloadArchive, sha256File } from './download-step.js';
import { classifyFailure } from './failure-policy.js';
import { importArchive } from './import-step.js';
import { deliverReports, enqueueReport } from './reports.js';

export interface JobOutcome { fileName: string; jobId: string; state: JobState; error?: { code: string; message: string } }

/**
 * Drives one job as far as it can go: every step starts from the state stored in MongoDB, so a crash at any
 * point resumes here. "downloaded" is only enqueued after the import was acknowledged by a majority.
 */
export async function processJob(ctx: PipelineContext, initial: JobDoc, session: () => Promise<SftpSession>): Promise<JobOutcome> {
  const log = ctx.log.child({ component: 'pipeline', jobId: initial.jobId, fileName: initial.fileName });
  let job = initial;
  try {
    job = await refetchIfNotStagedHere(ctx, job, log);
    if (job.state === 'discovered' || job.state === 'downloading') {
      job = await ctx.jobs.transition(job.fileName, ['discovered', 'downloading'], 'downloading');
      if (job.source === 'sftp') {
        await enqueueReport(ctx, job, 'downloading');
        await deliverSoon(ctx);
        const started = performance.now();
        const facts = await downloadArchive(ctx, job, session);
        job = await ctx.jobs.transition(job.fileName, ['downloading'], 'downloaded', facts);
        ctx.metrics?.stageSeconds('download', (performance.now() - started) / 1000);
        ctx.metrics?.archivePulled(facts.bytes);
      } else {
        const path = job.localPath ?? '';
        const s = await stat(path);
        job = await ctx.jobs.transition(job.fileName, ['downloading'], 'downloaded', { bytes: s.size, sha256: await sha256File(path, ctx.signal) });
      }
    }
    if (job.state === 'downloaded' || job.state === 'importing') {
      job = await ctx.jobs.transition(job.fileName, ['downloaded', 'importing'], 'importing');
      const started = performance.now();
      const facts = await importArchive(ctx, job, archivePathOf(ctx, job));
      job = await ctx.jobs.transition(job.fileName, ['importing'], 'imported', facts);
      ctx.metrics?.stageSeconds('import', (performance.now() - started) / 1000);
      ctx.metrics?.archiveImported(facts.totalRecords);
    }
    if (job.state === 'imported' && job.source === 'sftp') {
      await enqueueReport(ctx, job, 'downloaded');
    }
    return { fileName: job.fileName, jobId: job.jobId, state: job.state };
  } catch (err) {
    // Shutdown, or this node lost the leader lease: stop here; the job resumes from its stored state (here or on the new leader).
    if (ctx.signal?.aborted || isProxyError(err, 'LEASE_LOST')) throw err;
    return handleFailure(ctx, job, err, log);
  }
}

/**
 * HA: an archive downloaded by the other node lives in that node's staging directory. If this node has no copy, the job
 * goes back to "downloading" and is fetched again (from 0: the other node's checkpoints do not describe a file here).
 */
async function refetchIfNotStagedHere(ctx: PipelineContext, job: JobDoc, log: PipelineContext['log']): Promise<JobDoc> {
  if (job.source !== 'sftp' || (job.state !== 'downloaded' && job.state !== 'importing')) return job;
  if (await stat(archivePathOf(ctx, job)).then(() => true, () => false)) return job;
  log.warn({ state: job.state }, 'the downloaded archive is not in this node\'s staging directory (downloaded by the other node?); fetching it again');
  return ctx.jobs.transition(job.fileName, ['downloaded', 'importing'], 'downloading', { highWaterMark: 0 }, 'not staged on this node');
}

export function archivePathOf(ctx: PipelineContext, job: JobDoc): string {
  return job.source === 'local' && job.localPath ? job.localPath : ctx.staging.downloadedPath(job.fileName);
}

/** Tries to deliver queued reports now ("Downloading..." should show while we download); never blocks the job. */
async function deliverSoon(ctx: PipelineContext): Promise<void> {
  await deliverReports(ctx).catch((err: unknown) => ctx.log.warn({ component: 'reporter', code: errorCodeOf(err) }, 'report delivery deferred'));
}

async function handleFailure(ctx: PipelineContext, job: JobDoc, err: unknown, log: PipelineContext['log']): Promise<JobOutcome> {
  const code = errorCodeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  ctx.metrics?.failure(code);
  if (code === 'JOB_STATE_CONFLICT') {
    log.warn({ code }, 'job changed under us; leaving it');
    return { fileName: job.fileName, jobId: job.jobId, state: job.state, error: { code, message } };
  }
  if (!isProxyError(err)) log.error({ err }, 'unexpected error');
  const kind = classifyFailure(code);
  const attempts = job.attempts + 1;
  // Only corrupt transfers use up the budget: a flaky night of reconnects must not fail the next checksum mismatch.
  const refetches = (job.refetches ?? 0) + (kind === 'refetch' ? 1 : 0);
  const exhausted = kind === 'refetch' && refetches >= ctx.config.schedule.maxAttempts;

  if (kind === 'permanent' || exhausted) {
    // A local archive (the `import` command) is the operator's file: it stays where it is.
    const where = job.source === 'sftp' ? await ctx.staging.quarantine(ctx.staging.downloadedPath(job.fileName), job.fileName) : job.localPath;
    await ctx.staging.removeExtract(job.jobId);
    const failed = await ctx.jobs.fail(job.fileName, { code, message: exhausted ? `${message} (after ${refetches} corrupt transfers)` : message });
    log.error({ code, err: message, quarantined: where, attempts }, 'archive failed; quarantined, reporting "failed"');
    if (failed.source === 'sftp') await enqueueReport(ctx, failed, 'failed');
    return { fileName: job.fileName, jobId: job.jobId, state: 'failed', error: { code, message } };
  }

  const retryAt = new Date(ctx.now().getTime() + backoffMs(attempts, ctx.config.schedule.retryBaseSeconds, ctx.config.schedule.retryMaxSeconds));
  const reset: Partial<JobDoc> = kind === 'refetch' ? { highWaterMark: 0, ...remoteFacts(err) } : {};
  if (kind === 'refetch') await ctx.staging.retire(job.fileName, 0);
  const logFn = code === 'DB_NOT_DURABLE' ? log.warn.bind(log) : log.error.bind(log);
  logFn({ code, err: message, attempt: attempts, ...(kind === 'refetch' ? { refetches } : {}), retryAt }, code === 'DB_NOT_DURABLE' ? 'not durable yet; will retry' : 'step failed; will retry');
  // The retry itself needs the database: if it is away, the job simply stays due and the next cycle tries again.
  await ctx.jobs.recordRetry(job.fileName, { code, message }, retryAt, reset, kind === 'refetch').catch((e: unknown) => {
    if (isProxyError(e, 'LEASE_LOST')) throw e;
    log.warn({ code: errorCodeOf(e) }, 'could not record the retry');
  });
  return { fileName: job.fileName, jobId: job.jobId, state: job.state, error: { code, message } };
}

/**
 * REMOTE_FILE_CHANGED carries what the server has now (`details.remoteSize`, `remoteMtimeMs`): the refetch expects
 * that, or it would fail the same way every time. The published checksum still verifies the new download.
 */
function remoteFacts(err: unknown): Partial<JobDoc> {
  if (!isProxyError(err, 'REMOTE_FILE_CHANGED')) return {};
  const d = (err.details ?? {}) as { remoteSize?: unknown; remoteMtimeMs?: unknown };
  const out: Partial<JobDoc> = {};
  if (typeof d.remoteSize === 'number' && Number.isSafeInteger(d.remoteSize) && d.remoteSize >= 0) out.remoteSize = d.remoteSize;
  if (typeof d.remoteMtimeMs === 'number' && Number.isFinite(d.remoteMtimeMs)) out.remoteMtimeMs = d.remoteMtimeMs;
  return out;
}
