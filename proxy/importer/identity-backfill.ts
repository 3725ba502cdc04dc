import type { Db, WriteConcernSettings } from 'mongodb';
import type { Logger } from 'pino';
import type { Fence } from '../ha/lease.js';
import { dbCall, majority } from '../db/write-concern.js';
import { IDENTITY_BATCH, IDENTITY_COLLECTIONS, refreshIdentity } from './identity.js';
import { markMigrationDone, MIGRATIONS_COLLECTION } from './stamp-backfill.js';

const MIGRATION_ID = 'identity-superseded';

/**
 * Databases imported before the `_retention.superseded` marker existed may hold several versions of one staff
 * member, contact or room (a vendor that gave them a new `_id` every day): marks them once, walking each identity
 * collection in business-id order in bounded batches. Idempotent (recomputed from what is stored), so two nodes
 * starting at once, or a crash half-way, are harmless; the `proxy.migrations` document makes later starts skip it.
 * Returns the marker writes made, or 0 when it was done before. With HA (`fence`) each batch first checks that this
 * node still leads (LEASE_LOST otherwise: a node that lost the lease writes nothing more).
 */
export async function backfillIdentities(db: Db, wtimeoutMs: number, log: Logger, signal?: AbortSignal, fence?: Fence): Promise<number> {
  const marks = db.collection<{ _id: string; at: Date; written: number }>(MIGRATIONS_COLLECTION);
  if (await dbCall('reading proxy.migrations', () => marks.findOne({ _id: MIGRATION_ID }))) return 0;
  const writeConcern = majority(wtimeoutMs);
  let written = 0;
  for (const collection of Object.keys(IDENTITY_COLLECTIONS)) {
    written += await refreshAllVersions(db, collection, writeConcern, { ...(signal ? { signal } : {}), ...(fence ? { fence } : {}) });
  }
  await dbCall('writing proxy.migrations', () => markMigrationDone(db, MIGRATION_ID, { written }, writeConcern));
  if (written > 0) log.info({ written }, 'earlier versions of staff, contacts and rooms delivered under another _id are now marked superseded');
  return written;
}

/**
 * Every business id of one identity collection, walked in business-id order in bounded batches (refreshIdentity each,
 * `batch` ids at a time, default IDENTITY_BATCH): the one-time backfill, and an import whose records left more business
 * ids than it remembers (identity-keys.ts). With `fence`, each batch first checks that this node still leads.
 */
export async function refreshAllVersions(
  db: Db, collection: string, writeConcern: WriteConcernSettings, opts: { signal?: AbortSignal; fence?: Fence; batch?: number; pointOnly?: boolean } = {},
): Promise<number> {
  const idField = IDENTITY_COLLECTIONS[collection];
  if (!idField) return 0;
  const batch = opts.batch ?? IDENTITY_BATCH;
  const refresh = (keys: readonly string[]): Promise<number> => {
    opts.fence?.token();
    return dbCall(`marking superseded versions in ${collection}`, () => refreshIdentity(db, collection, keys, writeConcern, {
      batch, ...(opts.pointOnly === undefined ? {} : { pointOnly: opts.pointOnly }), ...(opts.signal ? { signal: opts.signal } : {}),
    }));
  };
  let written = 0;
  const cursor = db.collection(collection).find({ [idField]: { $type: 'string' } }, { projection: { _id: 0, [idField]: 1 } }).sort({ [idField]: 1 }).batchSize(1000);
  let keys: string[] = [];
  let last: string | undefined;
  try {
    for await (const d of cursor) {
      opts.signal?.throwIfAborted();
      const key = d[idField] as string;
      if (key === last) continue;
      last = key;
      keys.push(key);
      if (keys.length >= batch) {
        written += await refresh(keys);
        keys = [];
      }
    }
  } finally {
    await cursor.close();
  }
  return written + (await refresh(keys));
}
