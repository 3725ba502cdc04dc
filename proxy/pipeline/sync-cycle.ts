import { readdir } from 'node:fs/promises';
import { isProxyError } from '../errors.js';
import type { JobDoc, JobState } from '../db/jobs.js';
import { reconcileReported, type DeliverResult } from '../report/deliver-outbox.js';
import type { SftpSession } from '../sftp/connect.js';
import type { PipelineContext } from './context.js';
import { copiesDifferError, discoverAll, referenceSha256, type CycleWarning, type Discovery } from './discover.js';
import { processJob, type JobOutcome } from './process-job.js';
import { removeCollected } from './remove-collected.js';
import { deliverReports } from './reports.js';
import { SftpPool } from './sftp-pool.js';
import { digestImportedDays } from '../integrity/daily-digest.js';

export interface ArchiveStatus { fileName: string; state: JobState | 'unstable'; error?: { code: string; message: string } }

export interface CycleSummary {
  startedAt: string;
  finishedAt: string;
  /** Names on the servers that follow the archive contract (and this serviceId, when configured). */
  archives: ArchiveStatus[];
  ignored: string[];
  outcomes: JobOutcome[];
  outbox: DeliverResult;
  listingError?: { code: string; message: string };
  /** Problems that did not stop the cycle: a peer server that could not be listed, an archive that could not be removed. */
  warnings: CycleWarning[];
  /** Every archive found ended imported and reported, and nothing is left to send. */
  ok: boolean;
}

/** Connection-level failures: reconnect and resume at once within the cycle (a dropped tunnel). */
const RECONNECT = new Set(['SFTP_TRANSFER_FAILED', 'SFTP_TIMEOUT', 'SFTP_CONNECT_FAILED']);
const IN_CYCLE_RESUMES = 3;

export interface CycleState {
  /** Names already logged as ignored, so each is logged once per process. */
  readonly loggedIgnored: Set<string>;
}

/**
 * One full cycle: discover (on sftp.host and every peer) → download → import → report → remove what was reported
 * (sftp.deleteAfterDownloaded), then housekeeping. Safe to interrupt anywhere.
 */
export async function runSyncCycle(ctx: PipelineContext, state: CycleState): Promise<CycleSummary> {
  const startedAt = ctx.now().toISOString();
  const log = ctx.log.child({ component: 'cycle' });
  await ctx.staging.ensure();
  // HA: fence off the previous leader from every job and report this cycle may touch (no-ops without HA).
  await ctx.jobs.claimActive();
  await ctx.outbox.claimPending();
  await reconcileReported(ctx.jobs, ctx.outbox, ctx.config.siteId, ctx.now());

  // One session per server (sftp.host and each of sftp.peers), opened on first use.
  const pool = new SftpPool(ctx);
  const ignored = new Set<string>();
  const found = new Map<string, ArchiveStatus>();
  let discovery: Discovery;
  let outbox: DeliverResult;
  const outcomes: JobOutcome[] = [];
  const warnings: CycleWarning[] = [];
  try {
    discovery = await discoverAll(ctx, state.loggedIgnored, pool, ignored);
    warnings.push(...discovery.warnings);
    for (const f of discovery.unstable) found.set(f.name, { fileName: f.name, state: 'unstable' });
    for (const name of discovery.stable) found.set(name, { fileName: name, state: 'discovered' });

    for (const due of await ctx.jobs.due()) {
      if (ctx.signal?.aborted) break;
      const job = await pickServer(ctx, pool, due, discovery.reachable);
      const session = (): Promise<SftpSession> => pool.get(pool.sourceFor(job.server));
      let outcome = await processJob(ctx, job, session);
      for (let i = 0; i < IN_CYCLE_RESUMES && outcome.error && RECONNECT.has(outcome.error.code); i++) {
        await pool.drop(pool.sourceFor(job.server));
        const fresh = await ctx.jobs.get(job.fileName);
        if (!fresh || ctx.signal?.aborted) break;
        log.info({ jobId: job.jobId, code: outcome.error.code, highWaterMark: fresh.highWaterMark }, 'reconnecting to resume');
        outcome = await processJob(ctx, fresh, session);
      }
      outcomes.push(outcome);
    }
    // This node lost the leader lease mid-cycle: the new leader delivers the reports and tidies up.
    if (isProxyError(ctx.signal?.reason, 'LEASE_LOST')) throw ctx.signal.reason;

    const reportStarted = performance.now();
    outbox = await deliverReports(ctx);
    ctx.metrics?.stageSeconds('report', (performance.now() - reportStarted) / 1000);
    // sftp.deleteAfterDownloaded: archives whose "Data Downloaded" is delivered leave the servers they were found on.
    warnings.push(...(await removeCollected(ctx, pool, discovery.reachable)));
  } finally {
    await pool.dropAll();
  }
  await housekeeping(ctx);
  if (ctx.config.integrity.enabled) {
    const imported = outcomes.filter((o) => o.state === 'imported' || o.state === 'reported').map((o) => o.fileName);
    await digestImportedDays(ctx.db, ctx.log, ctx.config.siteId, imported, ctx.now);
  }

  for (const [name, status] of found) {
    if (status.state === 'unstable') continue;
    const job = await ctx.jobs.get(name);
    if (!job) continue;
    const error = job.error ? { code: job.error.code, message: job.error.message } : copiesDifferError(job);
    found.set(name, error ? { fileName: name, state: job.state, error } : { fileName: name, state: job.state });
  }
  const archives = [...found.values()];
  const listingError = discovery.listingError;
  const ok = !listingError && archives.every((a) => a.state === 'reported' && !a.error) && outbox.pending === 0;
  const summary: CycleSummary = { startedAt, finishedAt: ctx.now().toISOString(), archives, ignored: [...ignored], outcomes, outbox, warnings, ok };
  if (listingError) summary.listingError = listingError;
  log.info({ archives: archives.length, processed: outcomes.length, ok, outboxPending: outbox.pending, warnings: warnings.length }, 'cycle finished');
  return summary;
}

/**
 * A job still to download whose server could not be listed this cycle is fetched from another server holding the same
 * copy (same size and published checksum), if one was reachable (the vendor uploaded it again to the other inbox after a
 * failover).
 */
async function pickServer(ctx: PipelineContext, pool: SftpPool, job: JobDoc, reachable: ReadonlySet<string>): Promise<JobDoc> {
  if (job.source !== 'sftp' || (job.state !== 'discovered' && job.state !== 'downloading')) return job;
  const current = pool.sourceFor(job.server);
  if (reachable.has(current.id)) return job;
  // Only a copy known to be the same: same size and a published checksum equal to the archive's (a copy without one
  // could be other content of the same size).
  const reference = referenceSha256(job);
  if (reference === undefined) return job;
  const alternative = Object.values(job.copies ?? {}).find((c) => !c.differs && !c.removedAt && c.size === job.remoteSize
    && c.publishedSha256 === reference && reachable.has(pool.byId(c.server)?.id ?? ''));
  if (!alternative) return job;
  ctx.log.info({ fileName: job.fileName, from: current.label, to: alternative.label }, 'the archive\'s server is unreachable; downloading the same copy from another server');
  return ctx.jobs.switchServer(job.fileName, alternative.server).catch((err: unknown) => {
    if (isProxyError(err, 'LEASE_LOST')) throw err;
    return job;
  });
}

/** After "downloaded" was delivered: delete or keep the raw archive; prune old offline copies. */
async function housekeeping(ctx: PipelineContext): Promise<void> {
  const keep = ctx.config.staging.keepArchiveDays;
  for (const job of await ctx.jobs.list({ state: 'reported', source: 'sftp', retiredAt: { $exists: false } })) {
    await ctx.staging.retire(job.fileName, keep);
    await ctx.jobs.col.updateOne({ _id: job._id }, { $set: { retiredAt: ctx.now() } });
  }
  if (keep > 0) await ctx.staging.pruneArchive(keep, ctx.now());
  // HA: copies this node downloaded of archives the other node finished (and retired there) are retired here too.
  for (const name of await readdir(ctx.staging.incomingDir).catch(() => [] as string[])) {
    const fileName = name.endsWith('.part') ? name.slice(0, -'.part'.length) : name;
    if ((await ctx.jobs.get(fileName))?.state === 'reported') await ctx.staging.retire(fileName, keep);
  }
}
