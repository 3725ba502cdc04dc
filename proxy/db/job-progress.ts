import type { Collection, Db } from 'mongodb';
import { fenceGuard } from '../ha/fence.js';
import type { Fence } from '../ha/lease.js';
import type { ProgressStage } from '../pipeline/progress.js';
import { PROGRESS_COLLECTION } from './collections.js';
import type { JobState } from './jobs.js';
import { databaseError } from './connect.js';
import { dbCall } from './write-concern.js';

/**
 * The work in progress on an archive as last written by the node doing it (pipeline/progress-store.ts), so the
 * portal on either HA node can show it. `at`: when it was written; it stops moving when the work stalls or stops.
 */
export interface StoredProgress {
  stage: ProgressStage;
  startedAt: Date;
  at: Date;
  /** The node doing the work (ha.nodeId or the host name). */
  node: string;
  bytes?: { done: number; total: number };
  entries?: { done: number; total: number };
  records?: { done: number; total: number };
  files?: { done: number; total: number };
  /** download: bytes already on disk when it (re)started (left out of the rate). */
  baseBytes?: number;
}

/** One document per archive in flight, `_id` = the archive's file name (the job's `_id`). */
export interface ProgressDoc extends StoredProgress {
  _id: string;
  /** The job state the stage runs in: the portal shows the snapshot only while the job is in it. */
  state: JobState;
  fence?: number;
}

const DUPLICATE_KEY = 11000;
/** The counters a stage may leave out: removed from the stored snapshot when the new one has none. */
const OPTIONAL_COUNTERS = ['bytes', 'entries', 'records', 'files', 'baseBytes'] as const satisfies readonly (keyof StoredProgress)[];

/**
 * Live progress, apart from the job documents: it is written while the pipeline moves the job's state, and a database
 * that updates a document by rewriting it whole (FerretDB 1.24) could otherwise put back a state the pipeline just
 * left. Writes are fenced like job writes (an older leader's write matches nothing, or its upsert meets the newer
 * leader's document: a duplicate key, ignored) and acknowledged by the primary alone (`w: 1`): a snapshot is replaced
 * a moment later, is lost without harm in a failover, and must never wait for a degraded replica set.
 */
export class ProgressDocs {
  readonly col: Collection<ProgressDoc>;

  constructor(db: Db, private readonly fence?: Fence) {
    this.col = db.collection<ProgressDoc>(PROGRESS_COLLECTION);
  }

  async saveProgress(fileName: string, state: JobState, progress: StoredProgress): Promise<void> {
    const guard = fenceGuard(this.fence);
    try {
      // A later stage leaves out counters an earlier one wrote (download: bytes; import: entries, records, files).
      const set: Record<string, unknown> = { state, ...guard.set };
      const unset: Record<string, ''> = {};
      for (const [k, v] of Object.entries(progress)) if (v !== undefined) set[k] = v;
      for (const k of OPTIONAL_COUNTERS) if (progress[k] === undefined) unset[k] = '';
      const update = Object.keys(unset).length > 0 ? { $set: set, $unset: unset } : { $set: set };
      await this.col.updateOne({ _id: fileName, ...guard.filter }, update, { upsert: true, writeConcern: { w: 1 } });
    } catch (err) {
      // A newer leader's document is there: this node is fenced off, and its snapshot is not wanted.
      if (guard.token !== undefined && (err as { code?: unknown }).code === DUPLICATE_KEY) return;
      throw databaseError(err, 'save progress');
    }
  }

  /** Removes the archive's progress (its download or import ended, or stopped). */
  async clearProgress(fileName: string): Promise<void> {
    const guard = fenceGuard(this.fence);
    await dbCall('clear progress', () => this.col.deleteOne({ _id: fileName, ...guard.filter }, { writeConcern: { w: 1 } }));
  }

  /** The progress documents of these archives. */
  async of(fileNames: readonly string[], maxTimeMS: number): Promise<Map<string, ProgressDoc>> {
    if (fileNames.length === 0) return new Map();
    const docs = await this.col.find({ _id: { $in: [...fileNames] } }, { maxTimeMS }).toArray();
    return new Map(docs.map((d) => [d._id, d]));
  }
}
