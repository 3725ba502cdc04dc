import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOrStartLocalDatabase } from '../proxy/devdb/local-database.js';
import { benchArchive } from './archive.js';
import { benchImport } from './import.js';
import { benchPipelineRss } from './pipeline-rss.js';
import { benchPortal } from './portal.js';
import { benchSftp } from './sftp.js';
import type { BenchContext, BenchRow } from './types.js';

/**
 * `npm run bench`: every figure is a ratio against a peer measured in the same run on the same files.
 * BENCH_SCALE scales the data (default 1); BENCH_ONLY=archive,sftp,import,rss,portal picks groups.
 */
async function main(): Promise<void> {
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  const only = new Set((process.env.BENCH_ONLY ?? 'sftp,archive,import,rss,portal').split(','));
  const workDir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'rp-bench-'));
  const ctx: BenchContext = { workDir, scale, log: (m) => process.stderr.write(`[bench] ${m}\n`) };
  const rows: BenchRow[] = [];
  // Other work on the machine changes every ratio (the peers are single-threaded C; we use two threads): say how busy it was.
  const loadAtStart = loadavg()[0] ?? 0;
  const db = only.has('import') || only.has('rss') || only.has('portal') ? await findOrStartLocalDatabase({ dataDir: join(workDir, 'db') }) : undefined;
  try {
    if (only.has('sftp')) rows.push(...(await benchSftp(ctx)));
    if (only.has('archive')) rows.push(...(await benchArchive(ctx)));
    if (only.has('import') && db) rows.push(...(await benchImport(ctx, db.uri)));
    if (only.has('rss') && db) rows.push(...(await benchPipelineRss(ctx, db.uri)));
    if (only.has('portal') && db) rows.push(...(await benchPortal(ctx, db.uri)));
  } finally {
    await db?.stop();
    await rm(workDir, { recursive: true, force: true });
  }
  const load = { cores: availableParallelism(), loadAverage1mAtStart: round2(loadAtStart), loadAverage1mAtEnd: round2(loadavg()[0] ?? 0) };
  printTable(rows);
  process.stdout.write(`\n${load.cores} cores; 1-minute load average ${load.loadAverage1mAtStart} at the start, ${load.loadAverage1mAtEnd} at the end\n`);
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ at: new Date().toISOString(), scale, node: process.version, db: db?.kind, ...load, rows }, null, 2));
  process.stdout.write(`\nresults: ${file}\n`);
  if (rows.some((r) => !r.pass)) process.exitCode = 1;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

function printTable(rows: BenchRow[]): void {
  const head = ['group', 'benchmark', 'ours', 'peer', 'ratio', 'target', 'pass'];
  const body = rows.map((r) => [r.group, r.name, r.ours, r.peer, r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`, r.target, r.pass ? 'yes' : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${body.map(line).join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
