import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishDayArchive } from '../proxy/vendor-sim/generate/publish-archive.js';
import type { BenchContext, BenchRow } from './types.js';

const CLI = fileURLToPath(new URL('../proxy/cli/main.js', import.meta.url));
const KEY = 'Bench-Archive-Key-1';
const GiB = 1024 ** 3;

/**
 * Peak RSS of the whole offline pipeline (`retention-proxy import`: verify, decrypt, extract, parse, import
 * records and GridFS media) on archives of 2 GiB and 4 GiB (x BENCH_SCALE). Target: <= 300 MiB for both,
 * i.e. memory does not grow with archive size.
 */
export async function benchPipelineRss(ctx: BenchContext, mongoUri: string): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const gib of [2, 4]) {
    const dir = join(ctx.workDir, `rss-${gib}`);
    await mkdir(dir, { recursive: true });
    const bytes = Math.round(gib * GiB * ctx.scale);
    ctx.log(`rss: generating a ${(bytes / GiB).toFixed(2)} GiB archive`);
    const archive = await publishDayArchive({
      dataDir: dir, archiveKey: KEY, encryption: 'aes-256', serviceId: 'bench', jobId: randomUUID(),
      createdAt: new Date(Date.UTC(2026, 0, gib, 3)), seed: 'bench', records: Math.round(25_000 * Math.max(ctx.scale, 0.05) * gib), mediaBytes: bytes, sidecar: false,
    });
    await archive.completed;
    const configPath = join(dir, 'config.yaml');
    await writeFile(configPath, [
      'siteId: bench',
      'sftp: { host: 127.0.0.1, username: unused, privateKey: unused, hostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }',
      `archive: { key: "${KEY}" }`,
      `mongodb: { uri: "${mongoUri}", database: bench_rss_${gib} }`,
      'vendor: { statusUrl: "http://127.0.0.1:9/", signingSecret: unused }',
      `staging: { dir: "${join(dir, 'staging')}", minFreeBytes: 0 }`,
      'log: { level: warn }',
    ].join('\n'));
    ctx.log(`rss: importing ${archive.fileName} (${(archive.bytes / GiB).toFixed(2)} GiB)`);
    const started = Date.now();
    const out = await runJson(['import', archive.path, '--json', '--config', configPath]);
    const seconds = (Date.now() - started) / 1000;
    const rssMiB = Number(out.maxRssKiB) / 1024;
    rows.push({
      group: 'memory', name: `peak RSS, import of a ${(archive.bytes / GiB).toFixed(1)} GiB archive`,
      ours: `${rssMiB.toFixed(0)} MiB (${seconds.toFixed(0)} s, ${String(out.totalRecords)} records)`, peer: '-', ratio: null,
      target: '<= 300 MiB', pass: rssMiB <= 300,
      raw: { archiveBytes: archive.bytes, maxRssKiB: Number(out.maxRssKiB), seconds, records: Number(out.totalRecords) },
    });
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

function runJson(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        const parsed = JSON.parse(out) as Record<string, unknown>;
        if (code !== 0) reject(new Error(`import exited ${code}: ${out}`));
        else resolve(parsed);
      } catch {
        reject(new Error(`import exited ${code} without JSON: ${out.slice(0, 2000)}`));
      }
    });
  });
}
