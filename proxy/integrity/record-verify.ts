import type { Db, Document } from 'mongodb';
import type { ListTypeDef } from '../portal/queries/types.js';
import { EXACT_READ, idText, storedRecordHash } from './record-hash.js';

export interface RecordVerifyResult {
  type: string;
  id: string;
  collection: string;
  /** The record's `_id` as canonical Extended JSON (what `verify` prints). */
  recordId: string;
  /** `_retention.sha256`, or null when the record has no provenance stamp (untracked). */
  sha256Recorded: string | null;
  sha256Computed: string;
  ok: boolean;
}

/** Recomputes one record's hash from what is stored (the portal's "Verify record"); undefined when not found. */
export async function verifyOneRecord(db: Db, def: ListTypeDef, id: string): Promise<RecordVerifyResult | undefined> {
  const filter: Document = def.base ? { $and: [def.base, { [def.idField]: id }] } : { [def.idField]: id };
  const doc = await db.collection(def.collection).findOne(filter, EXACT_READ);
  if (!doc) return undefined;
  const { recorded, computed } = storedRecordHash(doc);
  return {
    type: def.name, id, collection: def.collection, recordId: idText(doc._id),
    sha256Recorded: recorded ?? null, sha256Computed: computed, ok: recorded === computed,
  };
}
