import { ProxyError } from '../../errors.js';
import type { TimelineRange } from './timeline.js';

/** Without `from`/`to`: the last 7 days up to now (the portal's default range). */
export const DEFAULT_RANGE_DAYS = 7;

function date(name: string, v: unknown): Date | undefined {
  if (v === undefined || v === '') return undefined;
  const d = typeof v === 'string' ? new Date(v) : new Date(Number.NaN);
  if (Number.isNaN(d.getTime())) throw new ProxyError('VALIDATION', `${name} is not a date-time`);
  return d;
}

/** The date range of a timeline or case export; `from` after `to` is a 400 VALIDATION. */
export function personRange(q: { from?: unknown; to?: unknown }, now: Date): TimelineRange {
  const to = date('to', q.to) ?? now;
  const from = date('from', q.from) ?? new Date(to.getTime() - DEFAULT_RANGE_DAYS * 86_400_000);
  if (from.getTime() > to.getTime()) throw new ProxyError('VALIDATION', 'from is after to');
  return { from, to };
}
