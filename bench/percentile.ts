/** The p-th percentile (0-100) of ascending `sorted` samples, nearest rank; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** p50 and p95 of API timings and of their peer's, from unsorted samples. */
export function p50p95(ours: readonly number[], peer: readonly number[]): { o50: number; o95: number; p50: number; p95: number } {
  const o = [...ours].sort((x, y) => x - y);
  const q = [...peer].sort((x, y) => x - y);
  return { o50: percentile(o, 50), o95: percentile(o, 95), p50: percentile(q, 50), p95: percentile(q, 95) };
}
