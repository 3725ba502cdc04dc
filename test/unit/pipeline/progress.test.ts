import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ProgressTerminal } from '../../../proxy/cli/progress-terminal.js';
import { ProxyMetrics } from '../../../proxy/metrics/metrics.js';
import { JobProgress, LogProgressSink, formatProgress, type Progress } from '../../../proxy/pipeline/progress.js';

const MiB = 1024 * 1024;
const FILE = 'backup_svc1_0b9e0a52-5c1f-4e3a-9d7a-2f4f6c1d8e01_20260301020000.zip';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

describe('JobProgress', () => {
  it('passes every stage change and at most one update per 200 ms to the sink', () => {
    const c = clock();
    const seen: Progress[] = [];
    const p = new JobProgress({ report: (x) => seen.push(x) }, FILE, c.now);
    p.stage('download', { bytes: { done: 0, total: 100 } });
    for (let i = 1; i <= 10; i++) p.update({ bytes: { done: i, total: 100 } });
    expect(seen.map((s) => s.bytes?.done)).toEqual([0]);
    c.advance(200);
    p.update({ bytes: { done: 50, total: 100 } });
    p.update({ bytes: { done: 100, total: 100 } }, true);
    p.stage('extract');
    expect(seen.map((s) => [s.stage, s.bytes?.done])).toEqual([['download', 0], ['download', 50], ['download', 100], ['extract', undefined]]);
  });
});

describe('formatProgress', () => {
  it('says what is done and how far, with rates (a resumed download counts only the new bytes)', () => {
    const at = 1_000_000;
    expect(formatProgress({ fileName: FILE, stage: 'download', startedAt: at, bytes: { done: 600 * MiB, total: 2048 * MiB }, baseBytes: 100 * MiB }, at + 5000))
      .toBe(`${FILE}  download  600.0/2048.0 MiB (29%)  100.0 MiB/s`);
    expect(formatProgress({ fileName: FILE, stage: 'extract', startedAt: at, entries: { done: 3, total: 10 }, bytes: { done: 50 * MiB, total: 200 * MiB } }, at + 2000))
      .toBe(`${FILE}  extract  3/10 entries  50.0/200.0 MiB (25%)  25.0 MiB/s`);
    expect(formatProgress({ fileName: FILE, stage: 'import', startedAt: at, records: { done: 5000, total: 20000 }, files: { done: 7, total: 40 } }, at + 2000))
      .toBe(`${FILE}  import  5000/20000 records (25%)  7/40 files  2500 records/s`);
  });
});

describe('LogProgressSink (the daemon)', () => {
  it('logs when a stage starts and then every interval, with structured fields', () => {
    const lines: Record<string, unknown>[] = [];
    const dest = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
    const log = pino({ level: 'info' }, dest);
    const c = clock();
    const sink = new LogProgressSink(log, 10_000, c.now);
    const base = { fileName: FILE, startedAt: c.now() };
    sink.report({ ...base, stage: 'download', bytes: { done: 0, total: 10 * MiB } });
    c.advance(5000);
    sink.report({ ...base, stage: 'download', bytes: { done: 5 * MiB, total: 10 * MiB } });
    c.advance(5000);
    sink.report({ ...base, stage: 'download', bytes: { done: 10 * MiB, total: 10 * MiB } });
    sink.report({ ...base, startedAt: c.now(), stage: 'import', records: { done: 0, total: 9 }, files: { done: 0, total: 1 } });
    expect(lines.map((l) => [l.stage, l.bytes ?? l.records])).toEqual([['download', 0], ['download', 10 * MiB], ['import', 0]]);
    expect(lines[1]).toMatchObject({ component: 'progress', fileName: FILE, totalBytes: 10 * MiB, mibPerSec: 1, seconds: 10 });
    expect(lines[2]).toMatchObject({ totalRecords: 9, files: 0, totalFiles: 1 });
  });
});

describe('ProgressTerminal (import and sync --once on a TTY)', () => {
  it('redraws one line in place, keeps a finished stage on its own line, and writes log lines above the live line', () => {
    let out = '';
    const c = clock();
    const term = new ProgressTerminal({ write: (t: string) => { out += t; }, columns: 200 }, c.now, 250);
    const base = { fileName: FILE, startedAt: c.now() };
    term.report({ ...base, stage: 'download', bytes: { done: 0, total: 4 * MiB } });
    c.advance(100);
    term.report({ ...base, stage: 'download', bytes: { done: 1 * MiB, total: 4 * MiB } }); // throttled
    c.advance(200);
    term.report({ ...base, stage: 'download', bytes: { done: 2 * MiB, total: 4 * MiB } });
    term.writeLog('{"msg":"a log line"}\n');
    term.report({ ...base, startedAt: c.now(), stage: 'extract', entries: { done: 1, total: 2 }, bytes: { done: 1, total: 2 } });
    term.finish(FILE);
    const screen = out.split('\r\x1b[K');
    expect(screen.filter((s) => s.includes('download')).map((s) => s.replace(/\s+\S+ MiB\/s/, ''))).toEqual([
      `${FILE}  download  0.0/4.0 MiB (0%)`,
      `${FILE}  download  2.0/4.0 MiB (50%)`,
      '{"msg":"a log line"}\n' + `${FILE}  download  2.0/4.0 MiB (50%)`,
      `${FILE}  download  2.0/4.0 MiB (50%)\n`,
    ]);
    expect(out.endsWith('\n')).toBe(true);
    expect(out).toContain('extract  1/2 entries');
  });
});

describe('ProxyMetrics as a progress sink (/metrics)', () => {
  it('exports the current stage as gauges and counts bytes and records live (resumed bytes not counted again)', async () => {
    const m = new ProxyMetrics({ outboxDepth: () => Promise.resolve(0), lease: () => undefined, replicaSet: () => Promise.reject(new Error('unused')) });
    const base = { fileName: FILE, startedAt: 1_700_000_000_000 };
    m.report({ ...base, stage: 'download', bytes: { done: 100, total: 1000 }, baseBytes: 100 });
    m.report({ ...base, stage: 'download', bytes: { done: 700, total: 1000 }, baseBytes: 100 });
    const gauge = await m.registry.getSingleMetricAsString('retention_proxy_progress');
    expect(gauge).toContain('retention_proxy_progress{stage="download",measure="bytes",kind="done"} 700');
    expect(gauge).toContain('retention_proxy_progress{stage="download",measure="bytes",kind="total"} 1000');
    expect(await m.registry.getSingleMetricAsString('retention_proxy_download_bytes_received_total')).toMatch(/ 600$/m);
    m.report({ ...base, stage: 'import', records: { done: 40, total: 50 }, files: { done: 2, total: 3 } });
    m.report({ ...base, stage: 'import', records: { done: 50, total: 50 }, files: { done: 3, total: 3 } });
    expect(await m.registry.getSingleMetricAsString('retention_proxy_import_records_written_total')).toMatch(/ 50$/m);
    expect(await m.registry.getSingleMetricAsString('retention_proxy_progress')).not.toContain('stage="download"');
    m.finish(FILE);
    expect(await m.registry.getSingleMetricAsString('retention_proxy_progress')).not.toContain('kind=');
  });
});
