/**
 * Waits, before a timed group, until the machine is quiet: `npm run bench` builds first, and the kernel then writes
 * the build's dirty pages back on one core for several seconds, which costs a two-threaded run more than a
 * single-threaded peer. We flush them with `sync` and wait until the cores are idle (at most `maxWaitMs`).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SAMPLE_MS = 500;
const IDLE_ENOUGH = 0.9;

async function cpuTimes(): Promise<{ idle: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { idle, total: fields.reduce((a, b) => a + b, 0) };
}

/** Returns the idle fraction of the last sample. */
export async function waitForQuietMachine(log: (msg: string) => void, maxWaitMs = 20_000): Promise<number> {
  await run('sync');
  const started = Date.now();
  let idle = 0;
  for (;;) {
    const a = await cpuTimes();
    await sleep(SAMPLE_MS);
    const b = await cpuTimes();
    idle = b.total > a.total ? (b.idle - a.idle) / (b.total - a.total) : 1;
    if (idle >= IDLE_ENOUGH) break;
    if (Date.now() - started > maxWaitMs) {
      log(`machine still busy after ${maxWaitMs} ms (${Math.round((1 - idle) * 100)}% CPU used): measuring anyway`);
      break;
    }
  }
  return idle;
}

/** The 1-minute load average, rounded: recorded next to every figure (other sessions share these cores). */
export const load1 = (): number => Math.round((loadavg()[0] ?? 0) * 100) / 100;
