import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArchiveName } from '../archive/archive-name.js';
import { errorCodeOf, isProxyError } from '../errors.js';
import type { JobState } from '../db/jobs.js';
import { reconcileReported, type DeliverResult } from '../report/deliver-outbox.js';
import type { RemoteFile, SftpSession } from '../sftp/connect.js';
import { stableFiles } from '../sftp/stable-listing.js';
import type { PipelineContext } from './context.js';
import { processJob, type JobOutcome } from './process-job.js';
import { deliverReports } from './reports.js';
import { digestImportedDays } from '../integrity/daily-digest.js';

export interface ArchiveStatus { fileName: string; state: JobState | 'unstable'; error?: { code: string; message: string } }

export interface CycleSummary {
  startedAt: string;
  finishedAt: string;
  /** Names on the server that follow the archive contract (and this serviceId, when configured). */
  archives: ArchiveStatus[];
  ignored: string[];
  outcomes: JobOutcome[];
  outbox: DeliverResult;
  listingError?: { code: string; message: string };
  /** Every archive found ended imported and reported, and nothing is left to send. */
  ok: boolean;
}

/** Sidecars and temporary names that are part of the contract, not archives: not "ignored". */
const SIDECAR = /\.(sha256|part|uploading|tmp)$/;
/** Connection-level failures: reconnect and resume at once within the cycle (a dropped tunnel). */
const RECONNECT = new Set(['SFTP_TRANSFER_FAILED', 'SFTP_TIMEOUT', 'SFTP_CONNECT_FAILED']);
const IN_CYCLE_RESUMES = 3;

export interface CycleState {
  /** Names already logged as ignored, so each is logged once per process. */
  readonly loggedIgnored: Set<string>;
}

/** One full cycle: discover → download → import → report, then housekeeping. Safe to interrupt anywhere. */
export async function runSyncCycle(ctx: PipelineContext, state: CycleState): Promise<CycleSummary> {
  const startedAt = ctx.now().toISOString();
  const log = ctx.log.child({ component: 'cycle' });
  await ctx.staging.ensure();
  // HA: fence off the previous leader from every job and report this cycle may touch (no-ops without HA).
  await ctx.jobs.claimActive();
  await ctx.outbox.claimPending();
  await reconcileReported(ctx.jobs, ctx.outbox, ctx.config.siteId, ctx.now());

  let session: SftpSession | undefined;
  const getSession = async (): Promise<SftpSession> => (session ??= await ctx.connectSftp());
  const dropSession = async (): Promise<void> => {
    const s = session;
    session = undefined;
    await s?.close().catch(() => undefined);
  };

  const ignored = new Set<string>();
  const found = new Map<string, ArchiveStatus>();
  let listingError: CycleSummary['listingError'];
  try {
    const listing = await discover(ctx, state, await getSession(), ignored);
    for (const f of listing.unstable) found.set(f.name, { fileName: f.name, state: 'unstable' });
    for (const f of listing.stable) found.set(f.name, { fileName: f.name, state: 'discovered' });
  } catch (err) {
    listingError = { code: errorCodeOf(err), message: (err as Error).message };
    log.error(listingError, 'could not list the vendor directory');
    await dropSession();
  }

  const outcomes: JobOutcome[] = [];
  try {
    for (const job of await ctx.jobs.due()) {
      if (ctx.signal?.aborted) break;
      let outcome = await processJob(ctx, job, getSession);
      for (let i = 0; i < IN_CYCLE_RESUMES && outcome.error && RECONNECT.has(outcome.error.code); i++) {
        await dropSession();
        const fresh = await ctx.jobs.get(job.fileName);
        if (!fresh || ctx.signal?.aborted) break;
        log.info({ jobId: job.jobId, code: outcome.error.code, highWaterMark: fresh.highWaterMark }, 'reconnecting to resume');
        outcome = await processJob(ctx, fresh, getSession);
      }
      outcomes.push(outcome);
    }
  } finally {
    await dropSession();
  }
  // This node lost the leader lease mid-cycle: the new leader delivers the reports and tidies up.
  if (isProxyError(ctx.signal?.reason, 'LEASE_LOST')) throw ctx.signal.reason;

  const reportStarted = performance.now();
  const outbox = await deliverReports(ctx);
  ctx.metrics?.stageSeconds('report', (performance.now() - reportStarted) / 1000);
  await housekeeping(ctx);
  if (ctx.config.integrity.enabled) {
    const imported = outcomes.filter((o) => o.state === 'imported' || o.state === 'reported').map((o) => o.fileName);
    await digestImportedDays(ctx.db, ctx.log, ctx.config.siteId, imported, ctx.now);
  }

  for (const [name, status] of found) {
    if (status.state === 'unstable') continue;
    const job = await ctx.jobs.get(name);
    if (job) found.set(name, job.error ? { fileName: name, state: job.state, error: { code: job.error.code, message: job.error.message } } : { fileName: name, state: job.state });
  }
  const archives = [...found.values()];
  const ok = !listingError && archives.every((a) => a.state === 'reported') && outbox.pending === 0;
  const summary: CycleSummary = { startedAt, finishedAt: ctx.now().toISOString(), archives, ignored: [...ignored], outcomes, outbox, ok };
  if (listingError) summary.listingError = listingError;
  log.info({ archives: archives.length, processed: outcomes.length, ok, outboxPending: outbox.pending }, 'cycle finished');
  return summary;
}

async function discover(ctx: PipelineContext, state: CycleState, session: SftpSession, ignored: Set<string>): Promise<{ stable: RemoteFile[]; unstable: RemoteFile[] }> {
  const log = ctx.log.child({ component: 'discover' });
  const dir = ctx.config.sftp.remoteDir;
  const relevant = (files: RemoteFile[]): RemoteFile[] =>
    files.filter((f) => {
      if (SIDECAR.test(f.name)) return false;
      const parsed = parseArchiveName(f.name);
      if (!parsed) {
        ignored.add(f.name);
        if (!state.loggedIgnored.has(f.name)) {
          state.loggedIgnored.add(f.name);
          log.info({ name: f.name }, 'ignoring a file whose name is not an archive name');
        }
        return false;
      }
      return ctx.config.serviceId === undefined || parsed.serviceId === ctx.config.serviceId;
    });
  const first = relevant(await session.list(dir));
  // Only files the database does not know yet need the settle wait.
  const unknown: RemoteFile[] = [];
  for (const f of first) if (!(await ctx.jobs.get(f.name))) unknown.push(f);
  let stableNew: RemoteFile[] = [];
  if (unknown.length > 0) {
    await sleep(ctx.config.sftp.settleSeconds * 1000, undefined, ctx.signal ? { signal: ctx.signal } : {});
    const second = relevant(await session.list(dir));
    stableNew = stableFiles(unknown, second);
  }
  for (const f of stableNew) {
    const parsed = parseArchiveName(f.name);
    if (!parsed) continue;
    const created = await ctx.jobs.discover({
      fileName: f.name,
      serviceId: parsed.serviceId,
      jobId: parsed.jobId,
      siteId: ctx.config.siteId,
      archiveCreatedAt: parsed.createdAt,
      source: 'sftp',
      remoteSize: f.size,
      remoteMtimeMs: f.mtimeMs,
    });
    if (created) log.info({ jobId: parsed.jobId, fileName: f.name, bytes: f.size }, 'new archive discovered');
  }
  const stableNames = new Set(stableNew.map((f) => f.name));
  const unstable = unknown.filter((f) => !stableNames.has(f.name));
  for (const f of unstable) log.info({ fileName: f.name, bytes: f.size }, 'archive still changing (vendor uploading?); waiting for the next cycle');
  const known = first.filter((f) => !unknown.includes(f));
  return { stable: [...known, ...stableNew], unstable };
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
