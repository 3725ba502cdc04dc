/**
 * Progress of long work on one archive (issue 11, item 14): bytes downloaded, entries extracted, records and files
 * written, with rates. The pipeline reports through a ProgressSink; the sinks are the terminal line of `import` and
 * `sync --once` (cli/progress-terminal.ts), the daemon's log (LogProgressSink) and /metrics (ProxyMetrics).
 */
import type { Logger } from 'pino';

export type ProgressStage = 'download' | 'extract' | 'verify' | 'import';

export interface Count {
  done: number;
  total: number;
}

export interface Progress {
  readonly fileName: string;
  readonly stage: ProgressStage;
  /** Date.now() when the stage started. */
  readonly startedAt: number;
  /** download: archive bytes on disk; extract: plaintext bytes written (total: the declared expanded size). */
  readonly bytes?: Count;
  readonly entries?: Count;
  readonly records?: Count;
  readonly files?: Count;
  /** download: bytes already on disk when it (re)started, left out of the rate. */
  readonly baseBytes?: number;
}

export interface ProgressSink {
  /** Called at most every few hundred milliseconds per job, and at every stage change. */
  report(p: Progress): void;
  /** The job's work in this run ended (done, failed or stopped). */
  finish?(fileName: string): void;
}

/** Sends to several sinks. */
export function fanOut(...sinks: (ProgressSink | undefined)[]): ProgressSink {
  const all = sinks.filter((s): s is ProgressSink => s !== undefined);
  return {
    report: (p) => { for (const s of all) s.report(p); },
    finish: (f) => { for (const s of all) s.finish?.(f); },
  };
}

const EMIT_EVERY_MS = 200;

/**
 * One job's progress as the pipeline steps update it; throttles what reaches the sink. An update held back by the
 * throttle is sent when its period ends unless a newer one was sent by then, so a stage that stalls shows where it
 * stopped (not where it was up to 200 ms before).
 */
export class JobProgress {
  private current: Progress | undefined;
  private lastEmit = 0;
  private trailing: NodeJS.Timeout | undefined;

  constructor(private readonly sink: ProgressSink | undefined, readonly fileName: string, private readonly now: () => number = Date.now) {}

  stage(stage: ProgressStage, init: Omit<Progress, 'fileName' | 'stage' | 'startedAt'> = {}): void {
    this.current = { fileName: this.fileName, stage, startedAt: this.now(), ...init };
    this.emit(true);
  }

  update(fields: Omit<Progress, 'fileName' | 'stage' | 'startedAt'>, force = false): void {
    if (!this.current) return;
    this.current = { ...this.current, ...fields };
    this.emit(force);
  }

  finish(): void {
    if (this.current) this.emit(true);
    this.cancelTrailing();
    this.sink?.finish?.(this.fileName);
    this.current = undefined;
  }

  private emit(force: boolean): void {
    if (!this.sink || !this.current) return;
    const t = this.now();
    const wait = EMIT_EVERY_MS - (t - this.lastEmit);
    if (!force && wait > 0) {
      if (!this.trailing) {
        this.trailing = setTimeout(() => {
          this.trailing = undefined;
          this.emit(true);
        }, wait);
        this.trailing.unref();
      }
      return;
    }
    this.cancelTrailing();
    this.lastEmit = t;
    this.sink.report(this.current);
  }

  private cancelTrailing(): void {
    if (this.trailing) clearTimeout(this.trailing);
    this.trailing = undefined;
  }
}

/** Units per second since the stage started: bytes for download and extract, records for import. */
export function rateOf(p: Progress, now: number): number {
  const seconds = Math.max((now - p.startedAt) / 1000, 0.001);
  if (p.stage === 'import') return (p.records?.done ?? 0) / seconds;
  return ((p.bytes?.done ?? 0) - (p.baseBytes ?? 0)) / seconds;
}

const MiB = 1024 * 1024;
const mib = (n: number): string => (n / MiB).toFixed(1);
const pct = (c: Count): string => (c.total > 0 ? ` (${Math.floor((100 * c.done) / c.total)}%)` : '');
const count = (c: Count, unit: string): string => `${c.done}/${c.total} ${unit}`;

/** One human line, e.g. `backup_….zip  download  512.0/2048.0 MiB (25%)  85.3 MiB/s`. */
export function formatProgress(p: Progress, now: number): string {
  const parts: string[] = [p.fileName, p.stage];
  const rate = rateOf(p, now);
  switch (p.stage) {
    case 'download':
      if (p.bytes) parts.push(`${mib(p.bytes.done)}/${mib(p.bytes.total)} MiB${pct(p.bytes)}`, `${mib(rate)} MiB/s`);
      break;
    case 'extract':
      if (p.entries) parts.push(count(p.entries, 'entries'));
      if (p.bytes) parts.push(`${mib(p.bytes.done)}/${mib(p.bytes.total)} MiB${pct(p.bytes)}`, `${mib(rate)} MiB/s`);
      break;
    case 'verify':
      if (p.files) parts.push(`${p.files.total} files`);
      parts.push('reading every file before the first write');
      break;
    case 'import':
      if (p.records) parts.push(`${count(p.records, 'records')}${pct(p.records)}`);
      if (p.files) parts.push(count(p.files, 'files'));
      parts.push(`${Math.round(rate)} records/s`);
      break;
  }
  return parts.join('  ');
}

/** Structured fields for a log line. */
export function progressFields(p: Progress, now: number): Record<string, unknown> {
  const rate = rateOf(p, now);
  return {
    fileName: p.fileName, stage: p.stage, seconds: Math.round((now - p.startedAt) / 1000),
    ...(p.bytes ? { bytes: p.bytes.done, totalBytes: p.bytes.total } : {}),
    ...(p.entries ? { entries: p.entries.done, totalEntries: p.entries.total } : {}),
    ...(p.records ? { records: p.records.done, totalRecords: p.records.total } : {}),
    ...(p.files ? { files: p.files.done, totalFiles: p.files.total } : {}),
    ...(p.stage === 'import' ? { recordsPerSec: Math.round(rate) } : p.stage === 'verify' ? {} : { mibPerSec: +(rate / MiB).toFixed(1) }),
  };
}

/** The daemon's sink: a log line when a stage starts and every `everyMs` while it runs. */
export class LogProgressSink implements ProgressSink {
  private readonly last = new Map<string, { stage: ProgressStage; at: number }>();

  constructor(private readonly log: Logger, private readonly everyMs = 10_000, private readonly now: () => number = Date.now) {}

  report(p: Progress): void {
    const t = this.now();
    const prev = this.last.get(p.fileName);
    if (prev && prev.stage === p.stage && t - prev.at < this.everyMs) return;
    this.last.set(p.fileName, { stage: p.stage, at: t });
    this.log.info({ component: 'progress', ...progressFields(p, t) }, formatProgress(p, t));
  }

  finish(fileName: string): void {
    this.last.delete(fileName);
  }
}
