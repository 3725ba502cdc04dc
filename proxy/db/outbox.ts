import type { Collection, Db } from 'mongodb';
import { fenceGuard, throwIfFenced } from '../ha/fence.js';
import type { Fence } from '../ha/lease.js';
import { OUTBOX_COLLECTION } from './collections.js';
import { ensureIndexes } from './ensure-indexes.js';
import { dbCall, majority } from './write-concern.js';

export type ReportStatus = 'downloading' | 'downloaded' | 'failed';

/** The body POSTed to the vendor (docs/vendor-api.md). Identical on every retry, so repeats are idempotent. */
export interface StatusReport {
  reportId: string;
  serviceId: string;
  siteId: string;
  jobId: string;
  fileName: string;
  status: ReportStatus;
  bytes: number;
  fileCount: number;
  recordCounts: Record<string, number>;
  sha256: string;
  error?: { code: string; message: string };
  at: string;
}

export interface OutboxDoc {
  _id: string; // = report.reportId
  fileName: string;
  jobId: string;
  status: ReportStatus;
  /** The exact JSON body, sent byte-identical on every retry (and record counts keep their dotted keys). */
  body: string;
  createdAt: Date;
  attempts: number;
  nextAttemptAt: Date;
  deliveredAt?: Date;
  lastError?: string;
  /** HA: fencing token of the last leader that changed this entry (see proxy/ha/fence.ts). */
  fence?: number;
}

/**
 * `{siteId}:{fileName}:{status}`: one report per site, archive and status. Keyed by the archive, not the job id: two
 * archives may share a job id (a re-run of the vendor's job), and each must be reported.
 */
export function reportIdFor(siteId: string, fileName: string, status: ReportStatus): string {
  return `${siteId}:${fileName}:${status}`;
}

/** The id earlier versions gave a report (`{siteId}:{jobId}:{status}`): only read, to recognise their deliveries. */
export function legacyReportIdFor(siteId: string, jobId: string, status: ReportStatus): string {
  return `${siteId}:${jobId}:${status}`;
}

/** Reports waiting for delivery. Enqueueing the same report twice is a no-op. With HA, state changes are fenced. */
export class Outbox {
  readonly col: Collection<OutboxDoc>;

  constructor(
    db: Db,
    private readonly wtimeoutMs: number,
    private readonly now: () => Date = () => new Date(),
    private readonly fence?: Fence,
  ) {
    this.col = db.collection<OutboxDoc>(OUTBOX_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await ensureIndexes(this.col, [
      { name: 'deliveredAt_nextAttemptAt', key: { deliveredAt: 1, nextAttemptAt: 1 } },
      { name: 'fileName', key: { fileName: 1 } },
    ]);
  }

  async enqueue(report: StatusReport): Promise<void> {
    const at = this.now();
    const guard = fenceGuard(this.fence);
    await dbCall('enqueue report', () =>
      this.col.updateOne(
        { _id: report.reportId },
        { $setOnInsert: { fileName: report.fileName, jobId: report.jobId, status: report.status, body: JSON.stringify(report), createdAt: at, attempts: 0, nextAttemptAt: at, ...guard.set } },
        { upsert: true, writeConcern: majority(this.wtimeoutMs) },
      ),
    );
  }

  /** Undelivered reports, oldest first (all of them; the caller decides what is due). */
  pending(): Promise<OutboxDoc[]> {
    return dbCall('list outbox', () => this.col.find({ deliveredAt: { $exists: false } }).sort({ createdAt: 1, _id: 1 }).toArray());
  }

  get(reportId: string): Promise<OutboxDoc | null> {
    return dbCall('read outbox', () => this.col.findOne({ _id: reportId }));
  }

  async markDelivered(reportId: string): Promise<void> {
    const guard = fenceGuard(this.fence);
    const res = await dbCall('report delivered', () =>
      this.col.updateOne({ _id: reportId, ...guard.filter }, { $set: { deliveredAt: this.now(), ...guard.set }, $inc: { attempts: 1 }, $unset: { lastError: '' } }, { writeConcern: majority(this.wtimeoutMs) }),
    );
    if (res.matchedCount === 0) await throwIfFenced(this.col, reportId, guard);
  }

  async markAttemptFailed(reportId: string, error: string, retryAt: Date): Promise<void> {
    const guard = fenceGuard(this.fence);
    const res = await dbCall('report retry', () =>
      this.col.updateOne({ _id: reportId, ...guard.filter }, { $set: { lastError: error, nextAttemptAt: retryAt, ...guard.set }, $inc: { attempts: 1 } }, { writeConcern: majority(this.wtimeoutMs) }),
    );
    if (res.matchedCount === 0) await throwIfFenced(this.col, reportId, guard);
  }

  /** HA: a new leader stamps its token on every undelivered report (see JobStore.claimActive). No-op without HA. */
  async claimPending(): Promise<number> {
    if (!this.fence) return 0;
    const guard = fenceGuard(this.fence);
    const res = await dbCall('claim pending reports', () =>
      this.col.updateMany({ deliveredAt: { $exists: false }, ...guard.filter }, { $set: guard.set }, { writeConcern: majority(this.wtimeoutMs) }),
    );
    return res.modifiedCount;
  }

  depth(): Promise<number> {
    return dbCall('outbox depth', () => this.col.countDocuments({ deliveredAt: { $exists: false } }));
  }
}
