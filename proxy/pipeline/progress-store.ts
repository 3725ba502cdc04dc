/**
 * The pipeline's progress in the database (issue 12, item 8): the node doing the work writes a snapshot per archive
 * (`proxy.progress`, db/job-progress.ts) at a bounded rate, so the portal's Sync status shows bytes, entries and records
 * as they advance on either HA node, not only on the one that pulls.
 */
import type { Logger } from 'pino';
import type { ProgressDocs, StoredProgress } from '../db/job-progress.js';
import type { JobState } from '../db/jobs.js';
import { errorCodeOf } from '../errors.js';
import { rateOf, type Progress, type ProgressSink, type ProgressStage } from './progress.js';

/** How often a job's progress is written at most (a stage change is written at once). */
export const PERSIST_EVERY_MS = 2000;

/** The job state in which each stage runs: a snapshot is only written while the job is in it. */
export function stateOfStage(stage: ProgressStage): JobState {
  return stage === 'download' ? 'downloading' : 'importing';
}

export interface ProgressStoreOptions {
  /** The node doing the work, shown with its progress. */
  node: string;
  everyMs?: number;
  now?: () => number;
}

type Write = { kind: 'save'; state: JobState; doc: StoredProgress } | { kind: 'clear' };

/** One job's writes: at most one in flight and one waiting (the newest), so nothing piles up behind a slow write. */
interface Slot {
  latest?: Progress;
  stage?: ProgressStage;
  writtenAt: number;
  timer?: NodeJS.Timeout;
  inFlight?: Promise<void>;
  queued?: Write;
  finished: boolean;
}

/**
 * A ProgressSink that persists. Best effort: a failed or fenced write is logged at debug level and never reaches the
 * pipeline (the job's own writes report a lost lease). A stage change is written at once, other updates at most every
 * `everyMs`, the last one of a burst after at most `everyMs` (so a stalled download shows where it stopped).
 * finish() removes the snapshot after the writes before it.
 */
export class ProgressStore implements ProgressSink {
  private readonly slots = new Map<string, Slot>();
  private readonly everyMs: number;
  private readonly now: () => number;

  constructor(private readonly jobs: Pick<ProgressDocs, 'saveProgress' | 'clearProgress'>, private readonly log: Logger, private readonly options: ProgressStoreOptions) {
    this.everyMs = options.everyMs ?? PERSIST_EVERY_MS;
    this.now = options.now ?? Date.now;
  }

  report(p: Progress): void {
    let slot = this.slots.get(p.fileName);
    if (!slot) {
      slot = { writtenAt: -Infinity, finished: false };
      this.slots.set(p.fileName, slot);
    }
    slot.finished = false;
    slot.latest = p;
    const elapsed = this.now() - slot.writtenAt;
    if (slot.stage !== p.stage || elapsed >= this.everyMs) {
      this.flush(p.fileName, slot);
    } else if (!slot.timer) {
      slot.timer = setTimeout(() => this.flush(p.fileName, slot), this.everyMs - elapsed);
      slot.timer.unref();
    }
  }

  finish(fileName: string): void {
    const slot = this.slots.get(fileName);
    if (!slot) return;
    this.cancelTimer(slot);
    slot.latest = undefined;
    slot.stage = undefined;
    slot.finished = true;
    this.enqueue(fileName, slot, { kind: 'clear' });
  }

  /** Resolves when every write asked for so far is done (shutdown, tests). */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [...this.slots.values()].flatMap((s) => (s.inFlight ? [s.inFlight] : []));
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  private flush(fileName: string, slot: Slot): void {
    this.cancelTimer(slot);
    const p = slot.latest;
    if (!p) return;
    slot.latest = undefined;
    slot.stage = p.stage;
    slot.writtenAt = this.now();
    this.enqueue(fileName, slot, { kind: 'save', state: stateOfStage(p.stage), doc: storedProgress(p, this.options.node, slot.writtenAt) });
  }

  private enqueue(fileName: string, slot: Slot, write: Write): void {
    if (slot.inFlight) {
      slot.queued = write;
      return;
    }
    const run = async (w: Write): Promise<void> => {
      try {
        if (w.kind === 'save') await this.jobs.saveProgress(fileName, w.state, w.doc);
        else await this.jobs.clearProgress(fileName);
      } catch (err) {
        this.log.debug({ component: 'progress', fileName, code: errorCodeOf(err) }, 'progress not stored');
      }
      const next = slot.queued;
      slot.queued = undefined;
      if (next) return run(next);
      slot.inFlight = undefined;
      if (slot.finished && !slot.timer && this.slots.get(fileName) === slot) this.slots.delete(fileName);
    };
    slot.inFlight = run(write);
  }

  private cancelTimer(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
  }
}

/** The snapshot written for `p` at `at` (ms). */
export function storedProgress(p: Progress, node: string, at: number): StoredProgress {
  return {
    stage: p.stage,
    startedAt: new Date(p.startedAt),
    at: new Date(at),
    node,
    ...(p.bytes ? { bytes: { ...p.bytes } } : {}),
    ...(p.entries ? { entries: { ...p.entries } } : {}),
    ...(p.records ? { records: { ...p.records } } : {}),
    ...(p.files ? { files: { ...p.files } } : {}),
    ...(p.baseBytes !== undefined ? { baseBytes: p.baseBytes } : {}),
  };
}

/** What the portal shows of a stored snapshot (docs/portal-api.md, `progress`). */
export interface ProgressView {
  stage: ProgressStage;
  /** download and extract: of the bytes; import: of the records (of the files when there are none); verify: null. */
  percent: number | null;
  bytes?: { done: number; total: number };
  entries?: { done: number; total: number };
  records?: { done: number; total: number };
  files?: { done: number; total: number };
  /** Bytes per second (download, extract) or records per second (import) since the stage started; null for verify. */
  rate: number | null;
  startedAt: string;
  updatedAt: string;
  node: string;
}

function percentOf(c: { done: number; total: number } | undefined): number | null {
  if (!c || c.total <= 0) return null;
  return Math.min(100, Math.max(0, Math.floor((100 * c.done) / c.total)));
}

/** The view of a job's stored progress, or undefined when the job is not in the state the snapshot's stage runs in. */
export function progressView(state: JobState, s: StoredProgress | undefined): ProgressView | undefined {
  if (!s || stateOfStage(s.stage) !== state) return undefined;
  const p: Progress = {
    fileName: '', stage: s.stage, startedAt: s.startedAt.getTime(),
    ...(s.bytes ? { bytes: s.bytes } : {}), ...(s.records ? { records: s.records } : {}), ...(s.baseBytes !== undefined ? { baseBytes: s.baseBytes } : {}),
  };
  const percent = s.stage === 'verify' ? null : s.stage === 'import' ? percentOf(s.records && s.records.total > 0 ? s.records : s.files) : percentOf(s.bytes);
  return {
    stage: s.stage,
    percent,
    ...(s.bytes ? { bytes: s.bytes } : {}),
    ...(s.entries ? { entries: s.entries } : {}),
    ...(s.records ? { records: s.records } : {}),
    ...(s.files ? { files: s.files } : {}),
    rate: s.stage === 'verify' ? null : Math.round(rateOf(p, s.at.getTime())),
    startedAt: s.startedAt.toISOString(),
    updatedAt: s.at.toISOString(),
    node: s.node,
  };
}
