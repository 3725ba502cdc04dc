/**
 * Probe (not part of `npm run bench`): where the `diy` day's extraction spends its time.
 *
 *   npm run build && node dist/bench/extract-probe.js [scale]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractArchive } from '../proxy/archive/extract.js';
import { publishDayArchive } from '../proxy/vendor-sim/generate/publish-archive.js';

const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const scale = Number(process.argv[2] ?? '0.1');
  const work = await mkdtemp(join(tmpdir(), 'rp-exprobe-'));
  try {
    const archive = await publishDayArchive({
      dataDir: work, archiveKey: 'Bench-Archive-Key-1', encryption: 'aes-256', serviceId: 'svcbench', jobId: randomUUID(),
      createdAt: new Date(Date.UTC(2026, 2, 1, 2)), seed: 'diy', records: Math.max(2000, Math.round(100_000 * scale)),
      mediaBytes: Math.max(4 * MiB, Math.round(128 * MiB * scale)), sidecar: true,
    });
    await archive.completed;
    for (let i = 0; i < 3; i++) {
      const out = join(work, `out-${i}`);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await extractArchive(archive.path, out, { password: 'Bench-Archive-Key-1', allowUnencrypted: false, limits: { maxEntries: 1_000_000, maxTotalBytes: 1024 * 1024 * MiB, maxEntryRatio: 1000 } });
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      process.stdout.write(`extract ${r.entries.length} entries: ${ms.toFixed(0)} ms wall, user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms\n`);
      await rm(out, { recursive: true, force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
