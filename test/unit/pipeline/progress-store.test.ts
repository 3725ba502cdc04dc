import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { historyDays } from '../../../proxy/db/job-history.js';
import type { StoredProgress } from '../../../proxy/db/job-progress.js';
import type { JobDoc, JobState } from '../../../proxy/db/jobs.js';
import { ProxyError } from '../../../proxy/errors.js';
import { ProgressStore, progressView } from '../../../proxy/pipeline/progress-store.js';
import { JobProgress, type Progress } from '../../../proxy/pipeline/progress.js';

const FILE = 'backup_svc1_0b9e0a52-5c1f-4e3a-9d7a-2f4f6c1d8e01_20260301020000.zip';
const log = pino({ level: 'silent' });

type Write = { kind: 'save'; state: JobState; done: number | undefined; stage: string } | { kind: 'clear' };

/** A job store that records the writes it gets; `gate` holds every write until released. */
function recordingJobs() {
  const writes: Write[] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  let failNext = false;
  return {
    writes,
    hold: () => { gate = new Promise((r) => { release = r; }); },
    open: () => { release?.(); gate = undefined; },
    failNext: () => { failNext = true; },
    saveProgress: async (_f: string, state: JobState, doc: StoredProgress): Promise<void> => {
      await gate;
      if (failNext) {
        failNext = false;
        throw new ProxyError('LEASE_LOST', 'fenced');
      }
      writes.push({ kind: 'save', state, done: (doc.stage === 'import' ? doc.records : doc.bytes)?.done, stage: doc.stage });
    },
    clearProgress: async (): Promise<void> => {
      await gate;
      writes.push({ kind: 'clear' });
    },
  };
}

const download = (done: number, startedAt = 0): Progress => ({ fileName: FILE, stage: 'download', startedAt, bytes: { done, total: 1000 } });

describe('ProgressStore (live progress in proxy.progress)', () => {
  beforeEach(() => { vi.useFakeTimers({ now: 1_000_000 }); });
  afterEach(() => { vi.useRealTimers(); });

  it('writes a stage change at once, then at most one snapshot per 2 s, and the last one of a burst when the reports stop', async () => {
    const jobs = recordingJobs();
    const store = new ProgressStore(jobs, log, { node: 'node-a' });
    store.report(download(0));
    for (let i = 1; i <= 20; i++) {
      vi.advanceTimersByTime(50);
      store.report(download(i * 10));
    }
    await store.idle();
    expect(jobs.writes).toEqual([{ kind: 'save', state: 'downloading', done: 0, stage: 'download' }]);
    // The download stalls after 200 bytes: the trailing write still shows where it stopped, 2 s after the first.
    await vi.advanceTimersByTimeAsync(1000);
    await store.idle();
    expect(jobs.writes.map((w) => (w.kind === 'save' ? w.done : w.kind))).toEqual([0, 200]);
    // Stage change: written at once, in the job state the stage runs in.
    store.report({ fileName: FILE, stage: 'import', startedAt: Date.now(), records: { done: 0, total: 50 } });
    await store.idle();
    expect(jobs.writes.at(-1)).toEqual({ kind: 'save', state: 'importing', done: 0, stage: 'import' });
    store.finish(FILE);
    await store.idle();
    expect(jobs.writes.at(-1)).toEqual({ kind: 'clear' });
    await vi.advanceTimersByTimeAsync(5000);
    expect(jobs.writes).toHaveLength(4);
  });

  it('keeps one write in flight and only the newest waiting; finish() clears after them; a refused write is not an error', async () => {
    const jobs = recordingJobs();
    const store = new ProgressStore(jobs, log, { node: 'node-a' });
    jobs.failNext();
    store.report(download(0));
    await store.idle();
    expect(jobs.writes).toEqual([]);
    jobs.hold();
    vi.advanceTimersByTime(2000);
    store.report(download(100));
    for (const done of [200, 300, 400]) {
      vi.advanceTimersByTime(2000);
      store.report(download(done));
    }
    store.finish(FILE);
    jobs.open();
    await store.idle();
    expect(jobs.writes.map((w) => (w.kind === 'save' ? w.done : w.kind))).toEqual([100, 'clear']);
  });
});

describe('JobProgress before a stall', () => {
  beforeEach(() => { vi.useFakeTimers({ now: 1_000_000 }); });
  afterEach(() => { vi.useRealTimers(); });

  it('sends the update the throttle held back when its period ends, so a stalled stage shows where it stopped', () => {
    const seen: (number | undefined)[] = [];
    const p = new JobProgress({ report: (x) => seen.push(x.bytes?.done) }, FILE);
    p.stage('download', { bytes: { done: 0, total: 100 } });
    vi.advanceTimersByTime(10);
    p.update({ bytes: { done: 40, total: 100 } });
    p.update({ bytes: { done: 50, total: 100 } });
    expect(seen).toEqual([0]);
    vi.advanceTimersByTime(190);
    expect(seen).toEqual([0, 50]);
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual([0, 50]);
  });
});

describe('progressView', () => {
  const at = new Date(10_000);
  const stored = (p: Partial<StoredProgress>): StoredProgress => ({ stage: 'download', startedAt: new Date(0), at, node: 'n1', ...p });

  it('percent of the bytes (download), of the records (import); rates per second; nothing for a stage of another state', () => {
    const d = progressView('downloading', stored({ bytes: { done: 750, total: 1000 }, baseBytes: 250 }));
    expect(d).toMatchObject({ stage: 'download', percent: 75, rate: 50, bytes: { done: 750, total: 1000 }, node: 'n1', updatedAt: at.toISOString() });
    const i = progressView('importing', stored({ stage: 'import', records: { done: 333, total: 1000 }, files: { done: 1, total: 4 } }));
    expect(i).toMatchObject({ stage: 'import', percent: 33, rate: 33, records: { done: 333, total: 1000 } });
    expect(progressView('importing', stored({ stage: 'verify', files: { done: 0, total: 9 } }))).toMatchObject({ percent: null, rate: null });
    // A snapshot left from a download is not shown once the job is importing or done.
    expect(progressView('importing', stored({ bytes: { done: 1, total: 2 } }))).toBeUndefined();
    expect(progressView('reported', stored({ stage: 'import', records: { done: 1, total: 2 } }))).toBeUndefined();
  });
});

describe('historyDays', () => {
  const h = (state: JobState, iso: string) => ({ state, at: new Date(iso) });
  const job = (history: JobDoc['history'], extra: Partial<JobDoc> = {}) => ({ history, remoteSize: 1000, ...extra });

  it('one entry per UTC day of the window, oldest first, counting each archive on the day it was imported', () => {
    const now = new Date('2026-03-30T10:00:00Z');
    const days = historyDays([
      job([h('discovered', '2026-03-29T23:00:00Z'), h('downloading', '2026-03-29T23:50:00Z'), h('downloaded', '2026-03-30T00:05:00Z'), h('importing', '2026-03-30T00:05:00Z'), h('imported', '2026-03-30T00:10:00Z'), h('reported', '2026-03-30T00:11:00Z')], { bytes: 5000, totalRecords: 300 }),
      job([h('downloading', '2026-03-30T03:00:00Z'), h('imported', '2026-03-30T03:01:00Z')], { totalRecords: 10 }),
      job([h('downloading', '2026-03-02T03:00:00Z'), h('failed', '2026-03-02T03:00:30Z')]),
      job([h('downloading', '2026-02-20T03:00:00Z'), h('imported', '2026-02-20T03:01:00Z')], { totalRecords: 7 }), // before the window
      job([h('downloading', '2026-03-29T03:00:00Z')]), // still in flight
    ], now, 30);
    expect(days).toHaveLength(30);
    expect(days[0]?.day).toBe('2026-03-01');
    expect(days.at(-1)).toEqual({ day: '2026-03-30', archives: 2, records: 310, bytes: 6000, durationMs: 20 * 60_000 + 60_000, failed: 0 });
    expect(days.find((d) => d.day === '2026-03-02')).toEqual({ day: '2026-03-02', archives: 0, records: 0, bytes: 0, durationMs: 0, failed: 1 });
    expect(days.reduce((n, d) => n + d.archives, 0)).toBe(2);
  });
});
