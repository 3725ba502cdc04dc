import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, constants as osConstants, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOrStartLocalDatabase, type LocalDatabase } from '../proxy/devdb/local-database.js';
import { benchArchive } from './archive.js';
import { benchDiy } from './diy.js';
import { benchImport } from './import.js';
import { benchIntegrity } from './integrity.js';
import { benchPipelineRss } from './pipeline-rss.js';
import { benchPortal } from './portal.js';
import { benchRetention } from './retention.js';
import { waitForQuietMachine } from './quiet.js';
import { benchSftp } from './sftp.js';
import { benchTimeline } from './timeline.js';
import { benchYear } from './year.js';
import type { BenchContext, BenchRow } from './types.js';

/**
 * `npm run bench`: every figure is a ratio against a peer measured in the same run on the same files.
 * BENCH_SCALE scales the data (default 1); BENCH_ONLY=archive,sftp,import,rss,portal,retention,integrity,timeline
 * picks groups.
 * BENCH_SCALE scales the data (default: DEFAULT_SCALE per group); BENCH_ONLY=sftp,archive,import,diy,year,rss,portal,retention picks groups.
 *
 * Each group runs in a fresh Node process (this script with BENCH_GROUP set), as each peer is a fresh process, so
 * that no group inherits another's heap, threads or buffers. (Run in one process, the archive extraction after the
 * SFTP group once took 833 against 642 ms; across fresh processes the spread on this VM is as wide, 640-920 ms,
 * so this is hygiene rather than a fix: see docs/benchmarks.md.)
 */
const GROUPS = ['sftp', 'archive', 'import', 'diy', 'year', 'rss', 'portal', 'retention', 'integrity', 'timeline'] as const;
type Group = (typeof GROUPS)[number];
const NEEDS_DB: ReadonlySet<Group> = new Set(['import', 'diy', 'year', 'rss', 'portal', 'retention', 'integrity', 'timeline']);
const ROWS_MARK = 'BENCH_ROWS ';

function isGroup(s: string): s is Group {
  return (GROUPS as readonly string[]).includes(s);
}

async function runGroup(group: Group, ctx: BenchContext, dbUri: string | undefined): Promise<BenchRow[]> {
  const db = (): string => {
    if (dbUri === undefined) throw new Error(`bench group ${group} needs a database`);
    return dbUri;
  };
  switch (group) {
    case 'sftp':
      return benchSftp(ctx);
    case 'archive':
      return benchArchive(ctx);
    case 'import':
      return benchImport(ctx, db());
    case 'diy':
      return benchDiy(ctx, db());
    case 'year':
      return benchYear(ctx, db());
    case 'rss':
      return benchPipelineRss(ctx, db());
    case 'portal':
      return benchPortal(ctx, db());
    case 'retention':
      return benchRetention(ctx, db());
    case 'integrity':
      return benchIntegrity(ctx, db());
    case 'timeline':
      return benchTimeline(ctx, db());
  }
}

/**
 * Each group's scale when BENCH_SCALE is not set: the default run stays under 30 minutes on the 2-core FerretDB
 * machine (docs/benchmarks.md lists each group's time). Groups whose full size is hours on FerretDB's SQLite backend
 * (a year of 5 M records, the 2 and 4 GiB pipeline, 1 M portal records, 1 M retention records) run smaller there;
 * BENCH_SCALE=1 (or BENCH_SCALE_<GROUP>=1) runs them at full size, against MongoDB (MONGODB_URI).
 */
// Timed end to end on 2026-12-02 (docs/benchmarks.md): sftp at 1 took 5 min and diy at 1 would have taken over half an
// hour on its own at load 6-8, import at 1 took 17 min and year at 0.03 16.5 min at load 4-10: these run smaller by
// default, and timeline at 0.1 took 15.6 min (retention and integrity were made smaller before the run).
const DEFAULT_SCALE: Readonly<Record<Group, number>> = { sftp: 0.5, archive: 1, import: 0.25, diy: 0.1, year: 0.012, rss: 0.1, portal: 0.005, retention: 0.002, integrity: 0.05, timeline: 0.03 };

function scaleOf(group: Group): number {
  return Number(process.env[`BENCH_SCALE_${group.toUpperCase()}`] ?? process.env.BENCH_SCALE ?? DEFAULT_SCALE[group]);
}

/** Child: one group, rows as one JSON line on stdout. */
async function child(group: Group): Promise<void> {
  const scale = scaleOf(group);
  const workDir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), `rp-bench-${group}-`));
  const ctx: BenchContext = { workDir, scale, log: (m) => process.stderr.write(`[bench] ${m}\n`) };
  try {
    await waitForQuietMachine(ctx.log);
    const rows = await runGroup(group, ctx, process.env.BENCH_DB_URI);
    process.stdout.write(`${ROWS_MARK}${JSON.stringify(rows)}\n`);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The group child running now, for the signal handler to stop first (it holds its own sshd, browser, work dir). */
let runningGroup: ChildProcess | undefined;

/** Passes the signal on to the running group's child and waits (at most 15 s) until it has exited. */
function stopRunningGroup(signal: NodeJS.Signals): Promise<void> {
  const proc = runningGroup;
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve();
    }, 15_000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill(signal);
  });
}

function spawnGroup(group: Group, dbUri: string | undefined): Promise<BenchRow[]> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, BENCH_GROUP: group };
    if (dbUri !== undefined) env.BENCH_DB_URI = dbUri;
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    runningGroup = proc;
    proc.once('exit', () => {
      if (runningGroup === proc) runningGroup = undefined;
    });
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d: string) => {
      out += d;
    });
    proc.once('error', reject);
    proc.once('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(ROWS_MARK));
      if (code !== 0 || line === undefined) {
        reject(new Error(`bench group ${group} failed (exit ${code})`));
        return;
      }
      resolve(JSON.parse(line.slice(ROWS_MARK.length)) as BenchRow[]);
    });
  });
}

async function main(): Promise<void> {
  const only = (process.env.BENCH_ONLY ?? GROUPS.join(',')).split(',').map((s) => s.trim());
  const unknown = only.filter((g) => !isGroup(g));
  if (unknown.length > 0) throw new Error(`unknown BENCH_ONLY group(s): ${unknown.join(', ')} (known: ${GROUPS.join(', ')})`);
  const groups = GROUPS.filter((g) => only.includes(g));
  const rows: BenchRow[] = [];
  const failed: { group: Group; error: string; seconds: number }[] = [];
  const timings: Record<string, number> = {};
  // Other work on the machine changes every ratio (the peers are single-threaded C; we use two threads): say how busy it was.
  const loadAtStart = loadavg()[0] ?? 0;
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  // Ctrl-C or a `timeout`: stop the group's child, then the database (and a PostgreSQL cluster under it), and remove
  // their files, which the exit hooks alone cannot do (a signal ends Node without them). Installed before anything is
  // started, so a signal during the database's start-up is handled too.
  const started: { db?: LocalDatabase; dbDir?: string } = {};
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`bench: ${signal}: stopping the running group and the database\n`);
    void stopRunningGroup(signal)
      .then(() => started.db?.stop())
      .then(() => (started.dbDir === undefined ? undefined : rm(started.dbDir, { recursive: true, force: true })))
      .finally(() => process.exit(128 + (osConstants.signals[signal] ?? 0)));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const backend = ferretdbBackend(groups);
  const dbDir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'rp-bench-db-'));
  started.dbDir = dbDir;
  const db = groups.some((g) => NEEDS_DB.has(g)) ? await findOrStartLocalDatabase({ dataDir: dbDir, ...backend }) : undefined;
  started.db = db;
  const save = (): Promise<void> => {
    const load = { cores: availableParallelism(), loadAverage1mAtStart: round2(loadAtStart), loadAverage1mNow: round2(loadavg()[0] ?? 0) };
    const scale = Object.fromEntries(groups.map((g) => [g, scaleOf(g)]));
    return writeFile(file, JSON.stringify({ at: new Date().toISOString(), scale, node: process.version, db: db?.kind, dbDescription: db?.description, ...load, timings, failed, rows }, null, 2));
  };
  try {
    // Each group's rows are printed and saved as soon as the group ends, and a group that fails does not stop the
    // others: a long run never loses the figures it already has.
    for (const g of groups) {
      const started = performance.now();
      try {
        const groupRows = await spawnGroup(g, db?.uri);
        rows.push(...groupRows);
        timings[g] = round2((performance.now() - started) / 1000);
        process.stdout.write(`\n${g}: ${timings[g]} s (scale ${scaleOf(g)}, load ${round2(loadavg()[0] ?? 0)})\n`);
        printTable(groupRows);
      } catch (err) {
        const seconds = round2((performance.now() - started) / 1000);
        timings[g] = seconds;
        failed.push({ group: g, error: err instanceof Error ? err.message : String(err), seconds });
        process.stdout.write(`\n${g}: FAILED after ${seconds} s: ${failed[failed.length - 1]?.error ?? ''}\n`);
      }
      await save();
    }
  } finally {
    await db?.stop();
    await rm(dbDir, { recursive: true, force: true });
  }
  process.stdout.write('\nall groups:\n');
  printTable(rows);
  for (const f of failed) process.stdout.write(`group ${f.group} FAILED: ${f.error}\n`);
  if (db) process.stdout.write(`\ndatabase: ${db.description}`);
  process.stdout.write(`\n${availableParallelism()} cores; 1-minute load average ${round2(loadAtStart)} at the start, ${round2(loadavg()[0] ?? 0)} at the end; seconds per group: ${Object.entries(timings).map(([g, t]) => `${g} ${t}`).join(', ')}\n`);
  await save();
  process.stdout.write(`\nresults: ${file}\n`);
  if (failed.length > 0 || rows.some((r) => !r.pass)) process.exitCode = 1;
}

/**
 * BENCH_FERRETDB_BACKEND=pg: FerretDB on a private PostgreSQL cluster instead of SQLite (when FerretDB is the
 * database). The portal group only: FerretDB 1.24 on PostgreSQL hangs on the importer's bulkWrite of 50 conditional
 * updates, and the cluster commits asynchronously, which is not the guarantee the write groups report.
 */
function ferretdbBackend(groups: readonly Group[]): { ferretdbBackend?: 'sqlite' | 'pg' } {
  const v = process.env.BENCH_FERRETDB_BACKEND;
  if (v === undefined || v === '') return {};
  if (v !== 'pg' && v !== 'sqlite') throw new Error(`BENCH_FERRETDB_BACKEND=${v}: expected sqlite or pg`);
  const others = groups.filter((g) => g !== 'portal' && NEEDS_DB.has(g));
  if (v === 'pg' && others.length > 0) throw new Error(`BENCH_FERRETDB_BACKEND=pg is for the portal group only (set BENCH_ONLY=portal; also asked: ${others.join(', ')})`);
  return { ferretdbBackend: v };
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

function printTable(rows: BenchRow[]): void {
  const head = ['group', 'benchmark', 'ours', 'peer', 'ratio', 'target', 'pass'];
  const body = rows.map((r) => [r.group, r.name, r.ours, r.peer, r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`, r.target, r.pass ? 'yes' : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${body.map(line).join('\n')}\n`);
}

const group = process.env.BENCH_GROUP;
(group !== undefined ? (isGroup(group) ? child(group) : Promise.reject(new Error(`unknown BENCH_GROUP ${group}`))) : main()).catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
