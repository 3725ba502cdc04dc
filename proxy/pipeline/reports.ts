import type { JobDoc } from '../db/jobs.js';
import { deliverOutbox, type DeliverResult } from '../report/deliver-outbox.js';
import { reportIdFor, type ReportStatus, type StatusReport } from '../db/outbox.js';
import type { PipelineContext } from './context.js';

/** Builds the report for a job's current facts and puts it in the outbox (idempotent). */
export async function enqueueReport(ctx: PipelineContext, job: JobDoc, status: ReportStatus): Promise<void> {
  const report: StatusReport = {
    reportId: reportIdFor(job.siteId, job.fileName, status),
    serviceId: job.serviceId,
    siteId: job.siteId,
    jobId: job.jobId,
    fileName: job.fileName,
    status,
    bytes: job.bytes ?? job.remoteSize,
    fileCount: job.fileCount ?? 0,
    recordCounts: Object.fromEntries((job.recordCounts ?? []).map((c) => [c.collection, c.records])),
    sha256: job.sha256 ?? job.publishedSha256 ?? '',
    at: ctx.now().toISOString(),
  };
  if (status === 'failed' && job.error) report.error = { code: job.error.code, message: job.error.message };
  await ctx.outbox.enqueue(report);
}

/** Sends what is due in the outbox with the pipeline's endpoint and retry settings. */
export function deliverReports(ctx: PipelineContext): Promise<DeliverResult> {
  return deliverOutbox({
    outbox: ctx.outbox,
    jobs: ctx.jobs,
    endpoint: ctx.config.vendor,
    log: ctx.log,
    retry: { baseSeconds: ctx.config.schedule.retryBaseSeconds, maxSeconds: ctx.config.schedule.retryMaxSeconds },
    now: ctx.now,
  });
}
