import { MongoServerError, type Collection, type Db, type Document, type Filter } from 'mongodb';
import type { Logger } from 'pino';
import { PORTAL_COLLECTIONS } from '../portal/collections.js';
import { emptyCounts, PROBLEM_KINDS, type Problem, type ProblemKind, type ProblemSink, type VerifyCounts } from './problems.js';
import { verifyTombstones } from './tombstones.js';
import { verifyAuditChain, type ChainHead } from './verify-audit.js';
import { verifyMediaFiles, verifyOrphanChunks } from './verify-media.js';
import { recordCollections, verifyRecordCollection } from './verify-records.js';

/** One document per sweep run (the last ones are shown in the portal). */
export const SWEEPS_COLLECTION = 'integrity.sweeps';
/** Every problem a sweep found: `{sweepId, kind, area, collection, id, detail, recorded?, computed?}`. */
export const SWEEP_PROBLEMS_COLLECTION = 'integrity.sweep_problems';
const DUPLICATE_KEY = 11000;
const MEDIA_FILES_PER_PAUSE = 10;

export interface SweepDoc {
  _id: string;
  state: 'running' | 'done';
  node: string;
  startedAt: Date;
  updatedAt: Date;
  finishedAt?: Date;
  /** Record collections to check, fixed when the sweep started. */
  collections: string[];
  /** Checkpoint: steps done (each record collection, then media, orphan chunks, tombstones, audit chain). */
  step: number;
  /** Checkpoint inside the media step: the last file `_id` checked (media `_id`s are archive paths, strings). */
  mediaAfter?: string;
  counts: VerifyCounts;
  problemCounts?: Record<ProblemKind, number>;
  ok?: boolean;
  auditHead?: ChainHead | null;
  /** How many times it was resumed after a restart or a leader change. */
  resumed: number;
}

export interface SweepOptions {
  node: string;
  /** Pause after each batch of 500 records or 10 media files (throttle, like the other background work). */
  pauseMs: number;
  /** True when the sweep must stop now (shutdown, or this node is no longer the HA leader); it resumes later. */
  shouldStop: () => boolean;
  log: Logger;
  now?: () => Date;
}

/** A stored problem; `_id` makes it idempotent per sweep. */
export interface SweepProblemDoc extends Problem { _id: string; sweepId: string; at: Date }

class SweepStopped extends Error {}

/**
 * The scheduled fixity sweep: `verify` as background work, resumable (a checkpoint after every step and, in the
 * media bucket, after every file), throttled, and kept: the run in `integrity.sweeps`, its problems in
 * `integrity.sweep_problems` (idempotent: a resumed step does not report a problem twice).
 */
export class FixitySweep {
  readonly sweeps: Collection<SweepDoc>;
  readonly problems: Collection<SweepProblemDoc>;
  private readonly now: () => Date;

  constructor(private readonly db: Db, private readonly opts: SweepOptions) {
    this.sweeps = db.collection<SweepDoc>(SWEEPS_COLLECTION);
    this.problems = db.collection<SweepProblemDoc>(SWEEP_PROBLEMS_COLLECTION);
    this.now = opts.now ?? (() => new Date());
  }

  /** The newest sweep, if any. */
  latest(): Promise<SweepDoc | null> {
    return this.sweeps.findOne({}, { sort: { startedAt: -1 } });
  }

  /** True when a sweep is unfinished, or the last one finished `periodMs` ago or more, or there was none. */
  async isDue(periodMs: number): Promise<boolean> {
    const last = await this.latest();
    if (!last || last.state === 'running') return true;
    return (last.finishedAt?.getTime() ?? 0) + periodMs <= this.now().getTime();
  }

  /** Resumes the unfinished sweep or starts one; returns it finished, or undefined when told to stop first. */
  async run(): Promise<SweepDoc | undefined> {
    let sweep = await this.sweeps.findOne({ state: 'running' }, { sort: { startedAt: -1 } });
    if (sweep) {
      await this.sweeps.updateOne({ _id: sweep._id }, { $set: { node: this.opts.node, updatedAt: this.now() }, $inc: { resumed: 1 } });
      this.opts.log.info({ component: 'integrity', sweepId: sweep._id, step: sweep.step }, 'fixity sweep resumed');
    } else {
      const startedAt = this.now();
      sweep = { _id: `sweep-${startedAt.toISOString()}`, state: 'running', node: this.opts.node, startedAt, updatedAt: startedAt, collections: await recordCollections(this.db), step: 0, counts: emptyCounts(), resumed: 0 };
      await this.sweeps.insertOne(sweep);
      this.opts.log.info({ component: 'integrity', sweepId: sweep._id }, 'fixity sweep started');
    }
    try {
      return await this.steps(sweep);
    } catch (err) {
      if (err instanceof SweepStopped) {
        this.opts.log.info({ component: 'integrity', sweepId: sweep._id }, 'fixity sweep paused; it resumes where it stopped');
        return undefined;
      }
      throw err;
    }
  }

  private async steps(sweep: SweepDoc): Promise<SweepDoc> {
    const id = sweep._id;
    const counts = sweep.counts;
    const sink = this.sinkFor(id);
    const pending: Promise<void>[] = [];
    const collect: ProblemSink = (p) => pending.push(sink(p));
    const flush = async (): Promise<void> => {
      await Promise.all(pending.splice(0));
    };
    const pace = async (): Promise<void> => {
      await flush();
      if (this.opts.shouldStop()) throw new SweepStopped();
      if (this.opts.pauseMs > 0) await new Promise((r) => setTimeout(r, this.opts.pauseMs));
    };
    const checkpoint = async (set: Partial<SweepDoc>): Promise<void> => {
      await flush();
      await this.sweeps.updateOne({ _id: id }, { $set: { ...set, counts, updatedAt: this.now() } });
    };
    const n = sweep.collections.length;
    for (let step = sweep.step; step < n + 4; step++) {
      if (this.opts.shouldStop()) throw new SweepStopped();
      if (step < n) {
        await verifyRecordCollection(this.db, sweep.collections[step] ?? '', {}, collect, counts, undefined, pace);
      } else if (step === n) {
        let files = 0;
        const after = sweep.mediaAfter;
        const filter = (after === undefined ? {} : { _id: { $gt: after } }) as unknown as Filter<Document>;
        await verifyMediaFiles(this.db, filter, collect, counts, undefined, async (fileId) => {
          if (++files % MEDIA_FILES_PER_PAUSE !== 0) return;
          await checkpoint({ mediaAfter: String(fileId) });
          await pace();
        });
      } else if (step === n + 1) {
        await verifyOrphanChunks(this.db, collect);
      } else if (step === n + 2) {
        await verifyTombstones(this.db, undefined, collect, counts);
      } else {
        counts.auditEntries = 0;
        counts.legacyAuditEntries = 0;
        counts.sealedLegacyAuditEntries = 0;
        const auditHead = await verifyAuditChain(this.db.collection(PORTAL_COLLECTIONS.audit), collect, counts, undefined, this.db);
        await checkpoint({ auditHead });
      }
      await checkpoint({ step: step + 1 });
    }
    const problemCounts = await this.problemCounts(id);
    const ok = Object.values(problemCounts).every((c) => c === 0);
    const finishedAt = this.now();
    await this.sweeps.updateOne({ _id: id }, { $set: { state: 'done', finishedAt, problemCounts, ok, updatedAt: finishedAt } });
    this.opts.log[ok ? 'info' : 'warn']({ component: 'integrity', sweepId: id, counts, problemCounts }, ok ? 'fixity sweep finished: clean' : 'fixity sweep finished: PROBLEMS');
    return { ...sweep, state: 'done', finishedAt, problemCounts, ok, counts };
  }

  private sinkFor(sweepId: string): (p: Problem) => Promise<void> {
    return async (p) => {
      try {
        await this.problems.insertOne({ _id: `${sweepId}|${p.kind}|${p.area}|${p.collection}|${p.id}`, sweepId, ...p, at: this.now() });
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err; // found again after a resume
      }
    };
  }

  private async problemCounts(sweepId: string): Promise<Record<ProblemKind, number>> {
    const out = Object.fromEntries(PROBLEM_KINDS.map((k) => [k, 0])) as Record<ProblemKind, number>;
    for (const kind of PROBLEM_KINDS) out[kind] = await this.problems.countDocuments({ sweepId, kind });
    return out;
  }
}
