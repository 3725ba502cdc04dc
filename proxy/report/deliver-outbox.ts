import type { Logger } from 'pino';
import { errorCodeOf } from '../errors.js';
import type { JobStore } from '../db/jobs.js';
import { legacyReportIdFor, reportIdFor, type Outbox } from '../db/outbox.js';
import { backoffMs } from '../pipeline/backoff.js';
import { sendReport, type VendorEndpoint } from './send-report.js';

export interface DeliverDeps {
  outbox: Outbox;
  jobs: JobStore;
  endpoint: VendorEndpoint;
  log: Logger;
  retry: { baseSeconds: number; maxSeconds: number };
  now?: () => Date;
}

export interface DeliverResult { delivered: number; failed: number; pending: number }

/**
 * Sends due reports in order. A later report of an archive never overtakes an earlier undelivered one
 * ("downloaded" is not sent while its "downloading" is still pending). A delivered "downloaded" report
 * moves its job from imported to reported.
 */
export async function deliverOutbox(deps: DeliverDeps): Promise<DeliverResult> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log.child({ component: 'reporter' });
  const blocked = new Set<string>();
  let delivered = 0;
  let failed = 0;
  for (const entry of await deps.outbox.pending()) {
    if (blocked.has(entry.fileName)) continue;
    if (entry.nextAttemptAt > now()) {
      blocked.add(entry.fileName);
      continue;
    }
    const report = { jobId: entry.jobId, fileName: entry.fileName, status: entry.status };
    try {
      await sendReport(deps.endpoint, entry._id, entry.body);
    } catch (err) {
      failed++;
      blocked.add(entry.fileName);
      const retryAt = new Date(now().getTime() + backoffMs(entry.attempts + 1, deps.retry.baseSeconds, deps.retry.maxSeconds));
      log.warn({ jobId: report.jobId, status: report.status, code: errorCodeOf(err), err: (err as Error).message, retryAt }, 'status report failed; will retry');
      await deps.outbox.markAttemptFailed(entry._id, (err as Error).message, retryAt);
      continue;
    }
    await deps.outbox.markDelivered(entry._id);
    delivered++;
    log.info({ jobId: report.jobId, fileName: report.fileName, status: report.status, attempt: entry.attempts + 1 }, 'status reported to vendor');
    // If this step is interrupted, reconcileReported() finishes it in the next cycle.
    if (report.status === 'downloaded') await markReported(deps.jobs, report.fileName, now());
  }
  return { delivered, failed, pending: await deps.outbox.depth() };
}

async function markReported(jobs: JobStore, fileName: string, at: Date): Promise<void> {
  try {
    await jobs.transition(fileName, ['imported'], 'reported', { reportedAt: at });
  } catch (err) {
    // Already reported (a repeat after a crash) is fine.
    if (errorCodeOf(err) !== 'JOB_STATE_CONFLICT') throw err;
  }
}

/** Jobs left in "imported" although their "downloaded" report was delivered (a crash between the two writes). */
export async function reconcileReported(jobs: JobStore, outbox: Outbox, siteId: string, now: Date): Promise<number> {
  let fixed = 0;
  for (const job of await jobs.list({ state: 'imported' })) {
    const entry = await outbox.get(reportIdFor(siteId, job.fileName, 'downloaded'));
    // A report delivered by an earlier version under its job-id key counts too, if it was for this very archive.
    const legacy = entry ? null : await outbox.get(legacyReportIdFor(siteId, job.jobId, 'downloaded'));
    if (entry?.deliveredAt || (legacy?.deliveredAt && legacy.fileName === job.fileName)) {
      await markReported(jobs, job.fileName, now);
      fixed++;
    }
  }
  return fixed;
}
