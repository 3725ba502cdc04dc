/**
 * Where `retention-proxy sync --once` spends the whole day of bench/diy.ts (not part of `npm run bench`):
 *
 *   npm run build && node dist/bench/diy-profile.js [scale] [--cpu-prof]
 *
 * Same set-up as the `diy` group (simulator day, OpenSSH sshd on loopback, FerretDB, a warm-up cycle on an empty
 * directory), then one timed `sync --once --log-level debug`: every log line is printed with the milliseconds since
 * spawn, so the gaps between stages show. `--cpu-prof` writes a V8 profile of the timed run into the current directory.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findOrStartLocalDatabase } from '../proxy/devdb/local-database.js';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { extractArchive } from '../proxy/archive/extract.js';
import { applyImport, planImport } from '../proxy/importer/index.js';
import type { PublishedArchive } from '../proxy/vendor-sim/generate/publish-archive.js';
import { startSshd } from '../test/helpers/sshd.js';
import { KEY, oursConfig, publishDiyDay, runCliJson } from './diy.js';

const CLI = fileURLToPath(new URL('../proxy/cli/main.js', import.meta.url));
const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const scale = Number(process.argv[2] ?? '0.25');
  const cpuProf = process.argv.includes('--cpu-prof');
  const work = await mkdtemp(join(tmpdir(), 'rp-diyprof-'));
  const db = await findOrStartLocalDatabase({ dataDir: join(work, 'db') });
  const root = join(work, 'sftp-root');
  await mkdir(join(root, 'empty'), { recursive: true });
  const sshd = await startSshd({ root });
  try {
    const archive = await publishDiyDay(root, scale);
    process.stderr.write(`${archive.fileName}: ${(archive.bytes / MiB).toFixed(1)} MiB, ${archive.fileCount} entries ${JSON.stringify(archive.recordCounts)}\n`);
    if (process.argv.includes('--import')) {
      await importOnly(archive, work, db.uri);
      return;
    }
    const keyPath = join(work, 'sftp-client-key');
    await writeFile(keyPath, sshd.privateKey, { mode: 0o600 });
    const dir = join(work, 'ours');
    const database = 'diyprof';
    const warm = await runCliJson(['sync', '--once', '--json', '--config', await oursConfig(dir, sshd, keyPath, db.uri, database, 'http://127.0.0.1:9/x', 'empty')]);
    process.stderr.write(`warm-up exit ${warm.code}\n`);
    const configPath = await oursConfig(dir, sshd, keyPath, db.uri, database, 'http://127.0.0.1:9/x', '.');
    const t0 = performance.now();
    const child = spawn(process.execPath, [...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', process.cwd()] : []), CLI, 'sync', '--once', '--json', '--log-level', 'debug', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    let buf = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const ms = (performance.now() - t0).toFixed(0).padStart(7);
        let text = line;
        try {
          const j = JSON.parse(line) as Record<string, unknown>;
          const { level: _l, time: _t, pid: _p, hostname: _h, msg, jobId: _j, fileName: _f, archive: _a, component, ...rest } = j;
          text = `[${String(component)}] ${String(msg)} ${JSON.stringify(rest).slice(0, 300)}`;
        } catch { /* not JSON */ }
        process.stdout.write(`${ms} ms  ${text}\n`);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    process.stdout.write(`${(performance.now() - t0).toFixed(0).padStart(7)} ms  exit ${code}\n`);
  } finally {
    await sshd.stop();
    await db.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** `--import`: extraction, then planImport + applyImport in this process, every debug line with its milliseconds. */
async function importOnly(archive: PublishedArchive, work: string, uri: string): Promise<void> {
  const t0 = performance.now();
  const stamp = (line: string): void => {
    let text = line;
    try {
      const { level: _l, time: _t, pid: _p, hostname: _h, msg, jobId: _j, fileName: _f, archive: _a, component, ...rest } = JSON.parse(line) as Record<string, unknown>;
      text = `[${String(component)}] ${String(msg)} ${JSON.stringify(rest).slice(0, 300)}`;
    } catch { /* not JSON */ }
    process.stdout.write(`${(performance.now() - t0).toFixed(0).padStart(7)} ms  ${text.trimEnd()}\n`);
  };
  const log = pino({ level: 'debug' }, { write: stamp });
  const dir = join(work, 'extracted');
  const ex = await extractArchive(archive.path, dir, { password: KEY, allowUnencrypted: false, limits: { maxEntries: 1_000_000, maxTotalBytes: 1024 * 1024 * MiB, maxEntryRatio: 1000 }, log });
  stamp('extracted');
  if (process.argv.includes('--extract-only')) return;
  const client = new MongoClient(uri);
  await client.connect();
  try {
    const plan = await planImport(dir, ex.entries, log, { archive: { serviceId: 'svcbench', jobId: archive.jobId, createdAt: archive.createdAt }, requireManifest: true });
    stamp('planned');
    await applyImport(client.db('diyprofimport'), dir, plan, { jobId: archive.jobId, archive: archive.fileName }, { wtimeoutMs: 60_000, log });
    stamp('applied');
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
