import type { Db, Document } from 'mongodb';
import { parseArchiveName } from '../archive/archive-name.js';
import { RETENTION_FIELD } from '../importer/record-document.js';
import { DATA_TYPE_DEFS, scopeFilter, type DataTypeDef } from './data-types.js';
import { NOT_ARCHIVED, type Policy } from './types.js';

const DAY_MS = 86_400_000;

/**
 * Precedence: the policy that keeps a record longest wins (largest activeDays + archiveDays; then larger activeDays;
 * then the smaller policy id). True when `a` wins over `b`.
 */
export function beats(a: Policy, b: Policy): boolean {
  const ta = a.activeDays + a.archiveDays;
  const tb = b.activeDays + b.archiveDays;
  if (ta !== tb) return ta > tb;
  if (a.activeDays !== b.activeDays) return a.activeDays > b.activeDays;
  return a._id < b._id;
}

/** Of the policies covering one record, the winner (null when none covers it). */
export function winner(policies: readonly Policy[]): Policy | null {
  let best: Policy | null = null;
  for (const p of policies) if (!best || beats(p, best)) best = p;
  return best;
}

/** Records (media: file records) in the policy's scope that no winning policy of the same data type covers. */
export function winningFilter(policy: Policy, all: readonly Policy[]): Document {
  const def = DATA_TYPE_DEFS[policy.dataType];
  const own = scopeFilter(def, policy.scope);
  const stronger = all.filter((q) => q._id !== policy._id && q.dataType === policy.dataType && beats(q, policy)).map((q) => scopeFilter(def, q.scope));
  return stronger.length === 0 ? own : { $and: [own, { $nor: stronger }] };
}

export interface Cutoffs {
  /** Due for archive when the clock date <= this. */
  archive: Date;
  /** Due for destruction when the clock date <= this. */
  destroy: Date;
}

export function cutoffs(policy: Pick<Policy, 'activeDays' | 'archiveDays'>, now: Date): Cutoffs {
  return {
    archive: new Date(now.getTime() - policy.activeDays * DAY_MS),
    destroy: new Date(now.getTime() - (policy.activeDays + policy.archiveDays) * DAY_MS),
  };
}

/** The clock date of a stored record (staff and contacts: their last delivery), or null. */
export function clockOf(def: DataTypeDef, doc: Document): Date | null {
  if (def.clockField) {
    let v: unknown = doc;
    for (const k of def.clockField.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
    return v instanceof Date ? v : null;
  }
  const stamp = doc[RETENTION_FIELD] as { archive?: unknown; createdAt?: unknown } | undefined;
  if (stamp?.createdAt instanceof Date) return stamp.createdAt;
  return typeof stamp?.archive === 'string' ? (parseArchiveName(stamp.archive)?.createdAt ?? null) : null;
}

/**
 * Records whose clock date is <= lte (and > gt when given). Staff and contacts store no clock date: their last
 * delivery is the timestamp in `_retention.archive`, so the filter lists the archive names in the range.
 */
async function clockFilter(db: Db, def: DataTypeDef, lte: Date, gt?: Date): Promise<Document> {
  const range = { $lte: lte, ...(gt ? { $gt: gt } : {}) };
  if (def.clockField) return { [def.clockField]: range };
  const names = (await db.collection(def.collection).distinct(`${RETENTION_FIELD}.archive`)).filter((n): n is string => {
    if (typeof n !== 'string') return false;
    const t = parseArchiveName(n)?.createdAt;
    return t !== undefined && t <= lte && (!gt || t > gt);
  });
  return {
    $or: [
      { [`${RETENTION_FIELD}.createdAt`]: range },
      { [`${RETENTION_FIELD}.createdAt`]: { $exists: false }, [`${RETENTION_FIELD}.archive`]: { $in: names } },
    ],
  };
}

/** What one policy would act on now (before hold exclusion): filters on the record collection (media: file records). */
export interface DueFilters { archive: Document; destroy: Document }

export async function dueFilters(db: Db, policy: Policy, all: readonly Policy[], now: Date): Promise<DueFilters> {
  const def = DATA_TYPE_DEFS[policy.dataType];
  const win = winningFilter(policy, all);
  const c = cutoffs(policy, now);
  const [destroyClock, archiveClock] = await Promise.all([clockFilter(db, def, c.destroy), clockFilter(db, def, c.archive, c.destroy)]);
  return {
    destroy: { $and: [win, destroyClock] },
    // Media state is on media.files, not on the file record: checked there.
    archive: { $and: [win, archiveClock, ...(def.kind === 'record' ? [NOT_ARCHIVED] : [])] },
  };
}

/** `a AND b`, dropping empty filters. */
export function and(...parts: Document[]): Document {
  const kept = parts.filter((p) => Object.keys(p).length > 0);
  return kept.length === 0 ? {} : kept.length === 1 ? (kept[0] as Document) : { $and: kept };
}
