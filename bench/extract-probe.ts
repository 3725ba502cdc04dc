/**
 * Probe (not part of `npm run bench`): the `diy` day's extraction, small entries in memory against every entry streamed.
 *
 *   npm run build && node dist/bench/extract-probe.js [scale]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractArchive } from '../proxy/archive/extract.js';
import { KEY, publishDiyDay } from './diy.js';

const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const scale = Number(process.argv[2] ?? '0.1');
  const work = await mkdtemp(join(tmpdir(), 'rp-exprobe-'));
  try {
    const archive = await publishDiyDay(work, scale);
    // Alternated: small entries in memory (the default) and every entry streamed, three runs each.
    for (let i = 0; i < 6; i++) {
      const streamed = i % 2 === 1;
      const out = join(work, `out-${i}`);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await extractArchive(archive.path, out, {
        password: KEY, allowUnencrypted: false, limits: { maxEntries: 1_000_000, maxTotalBytes: 1024 * 1024 * MiB, maxEntryRatio: 1000 },
        ...(streamed ? { inMemoryEntryBytes: 0 } : {}),
      });
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      process.stdout.write(`${streamed ? 'streamed ' : 'in memory'} ${r.entries.length} entries: ${ms.toFixed(0)} ms wall, user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms\n`);
      await rm(out, { recursive: true, force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
