import type { Collection, Db } from 'mongodb';
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
}

export function reportIdFor(siteId: string, jobId: string, status: ReportStatus): string {
  return `${siteId}:${jobId}:${status}`;
}

/** Reports waiting for delivery. Enqueueing the same report twice is a no-op. */
export class Outbox {
  readonly col: Collection<OutboxDoc>;

  constructor(
    db: Db,
    private readonly wtimeoutMs: number,
    private readonly now: () => Date = () => new Date(),
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
    await dbCall('enqueue report', () =>
      this.col.updateOne(
        { _id: report.reportId },
        { $setOnInsert: { fileName: report.fileName, jobId: report.jobId, status: report.status, body: JSON.stringify(report), createdAt: at, attempts: 0, nextAttemptAt: at } },
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
    await dbCall('report delivered', () =>
      this.col.updateOne({ _id: reportId }, { $set: { deliveredAt: this.now() }, $inc: { attempts: 1 }, $unset: { lastError: '' } }, { writeConcern: majority(this.wtimeoutMs) }),
    );
  }

  async markAttemptFailed(reportId: string, error: string, retryAt: Date): Promise<void> {
    await dbCall('report retry', () =>
      this.col.updateOne({ _id: reportId }, { $set: { lastError: error, nextAttemptAt: retryAt }, $inc: { attempts: 1 } }, { writeConcern: majority(this.wtimeoutMs) }),
    );
  }

  depth(): Promise<number> {
    return dbCall('outbox depth', () => this.col.countDocuments({ deliveredAt: { $exists: false } }));
  }
}
