import type { Db, Document, WriteConcernSettings } from 'mongodb';
import type { Logger } from 'pino';
import { parseArchiveName } from '../archive/archive-name.js';
import { dbCall, majority } from '../db/write-concern.js';
import { RETENTION_FIELD } from './record-document.js';

/** One document per one-time data migration the proxy has completed. */
export const MIGRATIONS_COLLECTION = 'proxy.migrations';

/**
 * Records migration `id` as done (with `facts`), once: an upsert that only inserts. Two nodes finishing at once: the
 * other one's insert went in first (duplicate key), done either way.
 */
export async function markMigrationDone(db: Db, id: string, facts: Document, writeConcern: WriteConcernSettings): Promise<void> {
  try {
    await db.collection<{ _id: string }>(MIGRATIONS_COLLECTION).updateOne({ _id: id }, { $setOnInsert: { at: new Date(), ...facts } }, { upsert: true, writeConcern });
  } catch (err) {
    if ((err as { code?: unknown }).code !== 11000) throw err;
  }
}
const MIGRATION_ID = 'retention-createdAt';
/** Collections that never hold vendor records. */
const NOT_RECORDS = /^(system\.|proxy\.|portal\.|retention\.|integrity\.|media\.)/;

/**
 * Records stored before `_retention.createdAt` existed get it from their archive's name, once. Without it the
 * newest-delivery rule (upsert-batch.ts) would let ANY later delivery, an older archive included, replace them.
 * One `distinct` per record collection (one value per archive) and one `updateMany` per archive; idempotent (it
 * only sets the field where it is missing), so two nodes starting at once, or a crash half-way, are harmless; the
 * marker document makes later starts skip it.
 */
export async function backfillArchiveTimes(db: Db, wtimeoutMs: number, log: Logger): Promise<number> {
  const marks = db.collection<{ _id: string; at: Date; records: number }>(MIGRATIONS_COLLECTION);
  if (await dbCall('reading proxy.migrations', () => marks.findOne({ _id: MIGRATION_ID }))) return 0;
  const at = `${RETENTION_FIELD}.createdAt`;
  const archive = `${RETENTION_FIELD}.archive`;
  const missing = { [archive]: { $type: 'string' }, [at]: { $exists: false } };
  let records = 0;
  const collections = await dbCall('listing collections', () => db.listCollections({}, { nameOnly: true }).toArray());
  for (const { name } of collections) {
    if (NOT_RECORDS.test(name)) continue;
    const col = db.collection(name);
    const names = (await dbCall(`reading archive names of ${name}`, () => col.distinct(archive, missing))).filter((n): n is string => typeof n === 'string');
    for (const fileName of names) {
      const parsed = parseArchiveName(fileName);
      if (!parsed) continue; // not an archive name: such a stamp keeps being replaced by any delivery (documented)
      const r = await dbCall(`stamping ${name}`, () => col.updateMany({ ...missing, [archive]: fileName }, { $set: { [at]: parsed.createdAt } }, { writeConcern: majority(wtimeoutMs) }));
      records += r.modifiedCount;
    }
  }
  await dbCall('writing proxy.migrations', () => markMigrationDone(db, MIGRATION_ID, { records }, majority(wtimeoutMs)));
  if (records > 0) log.info({ records }, 'records stored before _retention.createdAt existed now carry their archive time');
  return records;
}
