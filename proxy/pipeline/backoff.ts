/** Exponential backoff with full jitter: attempt 1 → ~base, doubling, capped at max. */
export function backoffMs(attempt: number, baseSeconds: number, maxSeconds: number, random: () => number = Math.random): number {
  const exp = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.round(1000 * (exp / 2 + (random() * exp) / 2));
}
