import type { Collection, Document } from 'mongodb';
import { REQUEST_BUSY, retryIfBusy } from '../db/sqlite-busy.js';
import { ensureIndexes } from '../db/ensure-indexes.js';

/**
 * A TTL index on `field` (documents go when the date passes). FerretDB 1.24 has no TTL indexes: there a plain
 * index is made instead and the owner prunes expired documents itself (see pruneExpired). Returns whether the
 * database expires them.
 */
export async function ensureTtlIndex<T extends Document>(col: Collection<T>, field: string): Promise<boolean> {
  try {
    await ensureIndexes(col, [{ name: `${field}_ttl`, key: { [field]: 1 }, options: { expireAfterSeconds: 0 } }]);
    return true;
  } catch (err) {
    const cause = (err as { cause?: { code?: number } }).cause;
    if (cause?.code !== 238 && (err as { code?: unknown }).code !== 238) throw err;
    await ensureIndexes(col, [{ name: `${field}_expiry`, key: { [field]: 1 } }]);
    return false;
  }
}

/** Deletes what a TTL index would have deleted (harmless where one exists). */
export async function pruneExpired<T extends Document>(col: Collection<T>, field: string, now: Date): Promise<void> {
  // Idempotent: sent again after FerretDB's refusals, within a request's budget (db/sqlite-busy.ts).
  await retryIfBusy(() => col.deleteMany({ [field]: { $lt: now } } as never), REQUEST_BUSY);
}
