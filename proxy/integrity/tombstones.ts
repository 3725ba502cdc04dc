import type { Db, Document, Filter } from 'mongodb';
import type { ProblemSink, VerifyCounts } from './problems.js';
import { idText } from './record-hash.js';

/**
 * Written by retention disposition: one document per destroyed record or media file,
 * `{_id: '<collection>|<EJSON of _id>', collection, recordId, sha256, policyId, runId, destroyedAt, kind, archive}`
 * (media: collection `media.files`, recordId = the file's `_id`, its archive path).
 */
export const TOMBSTONES_COLLECTION = 'retention.tombstones';

export interface TombstoneDoc {
  _id: string;
  collection: string;
  recordId: unknown;
  sha256: string;
  policyId: string;
  runId: string;
  destroyedAt: Date;
  kind: 'record' | 'media';
  /** The archive that imported it (tombstones written by older releases have none). */
  archive?: string;
}

/** Reports every tombstoned record or media file that is present again (destroyed, then restored or re-imported). */
export async function verifyTombstones(db: Db, collection: string | undefined, sink: ProblemSink, counts: VerifyCounts): Promise<void> {
  const filter: Filter<TombstoneDoc> = collection === undefined ? {} : { collection };
  const cursor = db.collection<TombstoneDoc>(TOMBSTONES_COLLECTION).find(filter, { batchSize: 500 });
  for await (const t of cursor) {
    counts.tombstones++;
    if (typeof t.collection !== 'string' || t.collection.length === 0) continue;
    const present = await db.collection(t.collection).findOne({ _id: t.recordId } as Filter<Document>, { projection: { _id: 1 } });
    if (present === null) continue;
    const area = t.kind === 'media' ? 'media' : 'record';
    const id = area === 'media' ? String(t.recordId) : idText(t.recordId);
    sink({ kind: 'tombstoned-present', area, collection: t.collection, id, detail: `destroyed by policy ${t.policyId} run ${t.runId} at ${t.destroyedAt instanceof Date ? t.destroyedAt.toISOString() : String(t.destroyedAt)}, present again`, recorded: t.sha256 });
  }
}
