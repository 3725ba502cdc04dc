/**
 * One timed extraction for bench/archive.ts in a fresh Node process (child-job.ts): the extractArchive call alone,
 * and the process's peak RSS.
 */
import { readFileSync } from 'node:fs';
import { extractArchive, type ExtractLimits } from '../proxy/archive/extract.js';
import { serveChildJob } from './child-job.js';

export interface ExtractChildJob {
  zipPath: string;
  outDir: string;
  password: string;
  limits: ExtractLimits;
}

export interface ExtractChildResult {
  /** process.resourceUsage().maxRSS (may include the forked parent's high-water mark on Linux). */
  maxRssKiB: number;
  /** VmHWM from /proc/self/status: this process's own peak RSS; -1 when unavailable. */
  hwmKiB: number;
  /** Milliseconds of the extractArchive call alone. */
  ms: number;
}

/** Linux carries the pre-exec (forked parent's) high-water RSS into ru_maxrss; VmHWM is this process's own. */
function ownPeakRssKiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

serveChildJob<ExtractChildJob, ExtractChildResult>('extraction bench child', async (job) => {
  const t0 = performance.now();
  await extractArchive(job.zipPath, job.outDir, { password: job.password, allowUnencrypted: false, limits: job.limits });
  const ms = performance.now() - t0;
  return { maxRssKiB: process.resourceUsage().maxRSS, hwmKiB: ownPeakRssKiB(), ms };
});
