import type { Collection, Db, Filter, UpdateFilter } from 'mongodb';
import { ProxyError, type ErrorCode } from '../errors.js';
import { fenceGuard, throwIfFenced } from '../ha/fence.js';
import type { Fence } from '../ha/lease.js';
import { JOBS_COLLECTION } from './collections.js';
import { ensureIndexes } from './ensure-indexes.js';
import { dbCall, majority } from './write-concern.js';

/** discovered → downloading → downloaded → importing → imported → reported, or failed (with reason). */
export const JOB_STATES = ['discovered', 'downloading', 'downloaded', 'importing', 'imported', 'reported', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const ACTIVE_STATES: readonly JobState[] = ['discovered', 'downloading', 'downloaded', 'importing', 'imported'];

/** Records imported per collection. An array: collection names contain dots, which field names may not. */
export interface RecordCount { collection: string; records: number }

export interface JobError { code: ErrorCode; message: string; at: Date; permanent: boolean }

/** One SFTP server the archive was found on (`sftp.host` or one of `sftp.peers`; see proxy/sftp/sources.ts). */
export interface JobCopy {
  /** The server's pinned host key fingerprint (its identity on both HA nodes). */
  server: string;
  /** host:port as the discovering node reached it (for people). */
  label: string;
  size: number;
  mtimeMs: number;
  /** The published `<name>.sha256` of this copy, when there was one at discovery. */
  publishedSha256?: string;
  /** ARCHIVE_COPIES_DIFFER: this copy's size or published checksum differs from the one imported; never removed. */
  differs?: boolean;
  /** sftp.deleteAfterDownloaded: when this copy (and its sidecar) was removed from its server. */
  removedAt?: Date;
}

export interface JobDoc {
  _id: string; // archive file name
  fileName: string;
  serviceId: string;
  jobId: string;
  siteId: string;
  archiveCreatedAt: Date;
  source: 'sftp' | 'local';
  /** For source 'local' (the `import` command): the archive on disk. */
  localPath?: string;
  remoteSize: number;
  remoteMtimeMs: number;
  state: JobState;
  /** Failed tries of any kind (the backoff grows with it). */
  attempts: number;
  /**
   * Corrupt transfers (size or checksum mismatch, or the remote file changed): the archive is marked failed after
   * `schedule.maxAttempts` of them. Transient failures (tunnel down, database away...) never count here.
   */
  refetches?: number;
  nextAttemptAt: Date;
  /** Contiguous bytes of `<name>.part` known to be on disk (fsynced). */
  highWaterMark: number;
  publishedSha256?: string;
  bytes?: number;
  sha256?: string;
  fileCount?: number;
  recordCounts?: RecordCount[];
  totalRecords?: number;
  /** Retention: records (per collection) and media (`media.files`) of the archive not imported because destroyed. */
  skippedTombstoned?: Record<string, number>;
  error?: JobError;
  history: { state: JobState; at: Date; note?: string }[];
  discoveredAt: Date;
  updatedAt: Date;
  reportedAt?: Date;
  /** When the raw archive was deleted or moved to the offline copies. */
  retiredAt?: Date;
  /** HA: fencing token of the last leader that wrote this job (see proxy/ha/fence.ts). */
  fence?: number;
  /** The server (host key fingerprint) the archive is downloaded from; missing = `sftp.host` (jobs of older versions). */
  server?: string;
  /** Every server the archive was found on, by copyKeyOf(server). Missing on jobs of older versions. */
  copies?: Record<string, JobCopy>;
  /** sftp.deleteAfterDownloaded: every copy that may be removed was removed (unset again when a new copy shows up). */
  remoteRemovedAt?: Date;
}

export type NewJob = Pick<JobDoc, 'fileName' | 'serviceId' | 'jobId' | 'siteId' | 'archiveCreatedAt' | 'source' | 'localPath' | 'remoteSize' | 'remoteMtimeMs'>
  & Partial<Pick<JobDoc, 'server' | 'copies' | 'publishedSha256'>>;

/**
 * The job documents: one per archive, the state machine's only source of truth. Every write is majority-acknowledged
 * and, with HA (`fence` given), fenced: a leader that lost its lease gets LEASE_LOST instead of a write.
 */
export class JobStore {
  readonly col: Collection<JobDoc>;

  constructor(
    db: Db,
    private readonly wtimeoutMs: number,
    private readonly now: () => Date = () => new Date(),
    /** HA: the leader's fence, also for the data writes of the jobs (see importer/media-writer.ts). */
    readonly fence?: Fence,
  ) {
    this.col = db.collection<JobDoc>(JOBS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await ensureIndexes(this.col, [
      { name: 'state_nextAttemptAt', key: { state: 1, nextAttemptAt: 1 } },
      { name: 'archiveCreatedAt', key: { archiveCreatedAt: -1 } },
      { name: 'jobId', key: { jobId: 1 } },
      // The portal's 30-day history (db/job-history.ts) reads the jobs that changed in the window.
      { name: 'updatedAt', key: { updatedAt: -1 } },
    ]);
  }

  /** Inserts the job if it is new; returns true when it was. Never changes an existing job. */
  async discover(job: NewJob): Promise<boolean> {
    const at = this.now();
    const guard = fenceGuard(this.fence);
    const doc: Omit<JobDoc, '_id'> = {
      ...job,
      ...guard.set,
      state: 'discovered',
      attempts: 0,
      nextAttemptAt: at,
      highWaterMark: 0,
      history: [{ state: 'discovered', at }],
      discoveredAt: at,
      updatedAt: at,
    };
    const res = await dbCall('discover job', () =>
      this.col.updateOne({ _id: job.fileName }, { $setOnInsert: doc }, { upsert: true, writeConcern: majority(this.wtimeoutMs) }),
    );
    return res.upsertedCount === 1;
  }

  get(fileName: string): Promise<JobDoc | null> {
    return dbCall('read job', () => this.col.findOne({ _id: fileName }));
  }

  /** Active jobs due now, oldest archive first. */
  due(): Promise<JobDoc[]> {
    return dbCall('list due jobs', () =>
      this.col.find({ state: { $in: [...ACTIVE_STATES] }, nextAttemptAt: { $lte: this.now() } }).sort({ archiveCreatedAt: 1, _id: 1 }).toArray(),
    );
  }

  list(filter: Filter<JobDoc> = {}): Promise<JobDoc[]> {
    return dbCall('list jobs', () => this.col.find(filter).sort({ archiveCreatedAt: 1, _id: 1 }).toArray());
  }

  /** One page of jobs in `_id` order after `after` (keyset paging: memory bounded by `limit`, whatever the count). */
  page(filter: Filter<JobDoc>, limit: number, after?: string): Promise<JobDoc[]> {
    const where: Filter<JobDoc> = after === undefined ? filter : { $and: [filter, { _id: { $gt: after } }] };
    return dbCall('list jobs', () => this.col.find(where).sort({ _id: 1 }).limit(limit).toArray());
  }

  /** Moves a job from one of `from` to `to`, atomically; JOB_STATE_CONFLICT if it is in another state. */
  async transition(fileName: string, from: readonly JobState[], to: JobState, set: Partial<JobDoc> = {}, note?: string): Promise<JobDoc> {
    const at = this.now();
    const guard = fenceGuard(this.fence);
    const update: UpdateFilter<JobDoc> = {
      $set: { ...set, ...guard.set, state: to, updatedAt: at },
      $push: { history: note ? { state: to, at, note } : { state: to, at } },
    };
    if (to !== 'failed') update.$unset = { error: '' };
    const res = await dbCall(`job → ${to}`, () =>
      this.col.findOneAndUpdate({ _id: fileName, state: { $in: [...from] }, ...guard.filter }, update, {
        returnDocument: 'after',
        writeConcern: majority(this.wtimeoutMs),
      }),
    );
    if (!res) {
      await throwIfFenced(this.col, fileName, guard);
      throw new ProxyError('JOB_STATE_CONFLICT', `${fileName}: expected ${from.join('|')} for → ${to}`);
    }
    return res;
  }

  /** Persists the download high-water mark (only moves forward). */
  async checkpoint(fileName: string, highWaterMark: number): Promise<void> {
    const guard = fenceGuard(this.fence);
    const res = await dbCall('download checkpoint', () =>
      this.col.updateOne(
        { _id: fileName, state: 'downloading', highWaterMark: { $lt: highWaterMark }, ...guard.filter },
        { $set: { highWaterMark, ...guard.set, updatedAt: this.now() } },
        { writeConcern: majority(this.wtimeoutMs) },
      ),
    );
    if (res.matchedCount === 0) await throwIfFenced(this.col, fileName, guard);
  }

  /**
   * Records a failure to retry: the job keeps its state and is retried at `retryAt`. `refetch`: a corrupt transfer,
   * counted in `refetches` too.
   */
  async recordRetry(fileName: string, error: Omit<JobError, 'at' | 'permanent'>, retryAt: Date, reset?: Partial<JobDoc>, refetch = false): Promise<JobDoc | null> {
    const at = this.now();
    const guard = fenceGuard(this.fence);
    const res = await dbCall('record retry', () =>
      this.col.findOneAndUpdate(
        { _id: fileName, state: { $in: [...ACTIVE_STATES] }, ...guard.filter },
        { $set: { ...reset, ...guard.set, error: { ...error, at, permanent: false }, nextAttemptAt: retryAt, updatedAt: at }, $inc: refetch ? { attempts: 1, refetches: 1 } : { attempts: 1 } },
        { returnDocument: 'after', writeConcern: majority(this.wtimeoutMs) },
      ),
    );
    if (!res) await throwIfFenced(this.col, fileName, guard);
    return res;
  }

  /** Marks the job failed for good (quarantined archive, reason kept). */
  async fail(fileName: string, error: Omit<JobError, 'at' | 'permanent'>): Promise<JobDoc> {
    const at = this.now();
    const guard = fenceGuard(this.fence);
    const res = await dbCall('job → failed', () =>
      this.col.findOneAndUpdate(
        { _id: fileName, state: { $in: [...ACTIVE_STATES] }, ...guard.filter },
        {
          $set: { state: 'failed', ...guard.set, error: { ...error, at, permanent: true }, updatedAt: at },
          $push: { history: { state: 'failed', at, note: error.code } },
        },
        { returnDocument: 'after', writeConcern: majority(this.wtimeoutMs) },
      ),
    );
    if (!res) {
      await throwIfFenced(this.col, fileName, guard);
      throw new ProxyError('JOB_STATE_CONFLICT', `${fileName}: not active, cannot fail`);
    }
    return res;
  }

  /**
   * Records that the archive is also on `key`'s server (another inbox: the vendor retried after a failover). Never
   * changes a copy already recorded; a new copy makes sftp.deleteAfterDownloaded look at the job again.
   */
  async addCopy(fileName: string, key: string, copy: JobCopy): Promise<boolean> {
    const guard = fenceGuard(this.fence);
    const field = `copies.${key}`;
    const res = await dbCall('record archive copy', () =>
      this.col.updateOne(
        { _id: fileName, [field]: { $exists: false }, ...guard.filter },
        { $set: { [field]: copy, ...guard.set, updatedAt: this.now() }, $unset: { remoteRemovedAt: '' } },
        { writeConcern: majority(this.wtimeoutMs) },
      ),
    );
    if (res.matchedCount === 0) await throwIfFenced(this.col, fileName, guard);
    return res.modifiedCount === 1;
  }

  /**
   * A file under the name of a copy already removed from `key`'s server (a re-upload): recorded again as a new copy,
   * so sftp.deleteAfterDownloaded looks at the job again. Only replaces a copy marked removed.
   */
  async reopenCopy(fileName: string, key: string, copy: JobCopy): Promise<boolean> {
    const guard = fenceGuard(this.fence);
    const field = `copies.${key}`;
    const res = await dbCall('record re-uploaded archive copy', () =>
      this.col.updateOne(
        { _id: fileName, [`${field}.removedAt`]: { $exists: true }, ...guard.filter },
        { $set: { [field]: copy, ...guard.set, updatedAt: this.now() }, $unset: { remoteRemovedAt: '' } },
        { writeConcern: majority(this.wtimeoutMs) },
      ),
    );
    if (res.matchedCount === 0) await throwIfFenced(this.col, fileName, guard);
    return res.modifiedCount === 1;
  }

  /** Downloads the archive from another server holding the same copy (its own is unreachable): from byte 0 again. */
  async switchServer(fileName: string, server: string): Promise<JobDoc> {
    const guard = fenceGuard(this.fence);
    const res = await dbCall('switch download server', () =>
      this.col.findOneAndUpdate(
        { _id: fileName, state: { $in: ['discovered', 'downloading'] }, ...guard.filter },
        { $set: { server, highWaterMark: 0, ...guard.set, updatedAt: this.now() } },
        { returnDocument: 'after', writeConcern: majority(this.wtimeoutMs) },
      ),
    );
    if (!res) {
      await throwIfFenced(this.col, fileName, guard);
      throw new ProxyError('JOB_STATE_CONFLICT', `${fileName}: not waiting for its download`);
    }
    return res;
  }

  /**
   * HA: a majority-acknowledged write fenced per job, right before an irreversible step outside the database (removing
   * the archive from an SFTP server): a newer leader that wrote the job makes it fail (LEASE_LOST). It does not prove
   * this node still leads in general (a newer leader that has not touched this job yet is not seen). No-op without HA.
   */
  async confirmLeader(fileName: string): Promise<void> {
    if (!this.fence) return;
    const guard = fenceGuard(this.fence);
    const res = await dbCall('confirm leadership', () =>
      this.col.updateOne({ _id: fileName, ...guard.filter }, { $set: guard.set }, { writeConcern: majority(this.wtimeoutMs) }),
    );
    if (res.matchedCount === 0) {
      await throwIfFenced(this.col, fileName, guard);
      throw new ProxyError('JOB_STATE_CONFLICT', `${fileName}: no such job`);
    }
  }

  /** sftp.deleteAfterDownloaded: one copy is gone from its server. */
  async markCopyRemoved(fileName: string, key: string): Promise<void> {
    const guard = fenceGuard(this.fence);
    const at = this.now();
    const res = await dbCall('archive copy removed', () =>
      this.col.updateOne(
        { _id: fileName, ...guard.filter },
        { $set: { [`copies.${key}.removedAt`]: at, ...guard.set, updatedAt: at } },
        { writeConcern: majority(this.wtimeoutMs) },
      ),
    );
    if (res.matchedCount === 0) await throwIfFenced(this.col, fileName, guard);
  }

  /** ARCHIVE_COPIES_DIFFER found late (e.g. the copy's `.sha256` appeared after discovery): never imported or removed. */
  async markCopyDiffers(fileName: string, key: string, copy: JobCopy): Promise<void> {
    const guard = fenceGuard(this.fence);
    // The whole copy is written: a job from before `copies` existed has none stored yet (its copy was inferred).
    const res = await dbCall('archive copy differs', () =>
      this.col.updateOne(
        { _id: fileName, ...guard.filter },
        { $set: { [`copies.${key}`]: { ...copy, differs: true }, ...guard.set, updatedAt: this.now() } },
        { writeConcern: majority(this.wtimeoutMs) },
      ),
    );
    if (res.matchedCount === 0) await throwIfFenced(this.col, fileName, guard);
  }

  /** A differing copy (ARCHIVE_COPIES_DIFFER) is no longer on its server: someone resolved it; the flag goes. */
  async forgetCopy(fileName: string, key: string): Promise<void> {
    const guard = fenceGuard(this.fence);
    const res = await dbCall('forget archive copy', () =>
      this.col.updateOne({ _id: fileName, [`copies.${key}.differs`]: true, ...guard.filter }, { $unset: { [`copies.${key}`]: '' }, $set: { ...guard.set, updatedAt: this.now() } }, { writeConcern: majority(this.wtimeoutMs) }),
    );
    if (res.matchedCount === 0) await throwIfFenced(this.col, fileName, guard);
  }

  /** sftp.deleteAfterDownloaded: nothing (more) to remove for this job. */
  async markRemoteRemoved(fileName: string): Promise<void> {
    const guard = fenceGuard(this.fence);
    const res = await dbCall('archive copies removed', () =>
      this.col.updateOne({ _id: fileName, ...guard.filter }, { $set: { remoteRemovedAt: this.now(), ...guard.set } }, { writeConcern: majority(this.wtimeoutMs) }),
    );
    if (res.matchedCount === 0) await throwIfFenced(this.col, fileName, guard);
  }

  /**
   * HA: a new leader stamps its token on every active job before it works, so the previous leader, should it still be
   * running somewhere, can no longer write any of them. No-op without HA.
   */
  async claimActive(): Promise<number> {
    if (!this.fence) return 0;
    const guard = fenceGuard(this.fence);
    const res = await dbCall('claim active jobs', () =>
      this.col.updateMany({ state: { $in: [...ACTIVE_STATES] }, ...guard.filter }, { $set: guard.set }, { writeConcern: majority(this.wtimeoutMs) }),
    );
    return res.modifiedCount;
  }
}
