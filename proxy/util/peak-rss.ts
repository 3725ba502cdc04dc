import { readFileSync } from 'node:fs';

/**
 * This process's own peak resident set in KiB: VmHWM from /proc/self/status. (`resourceUsage().maxRSS` of a
 * spawned child starts from the parent's peak on Linux, so it overstates a small child's memory.)
 */
export function peakRssKiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m?.[1]) return Number(m[1]);
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS;
}
