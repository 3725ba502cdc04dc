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

/** The policy runs (`retention.runs`): a tombstone proves a destruction only together with the run that made it. */
export const RUNS_COLLECTION = 'retention.runs';

/**
 * Reports every tombstoned record or media file that is present again (destroyed, then restored or re-imported),
 * and every tombstone whose run is not in `retention.runs` (`tombstone-unproven`: anyone with write access could have
 * written it to hide a deletion).
 */
export async function verifyTombstones(db: Db, collection: string | undefined, sink: ProblemSink, counts: VerifyCounts): Promise<void> {
  const filter: Filter<TombstoneDoc> = collection === undefined ? {} : { collection };
  const cursor = db.collection<TombstoneDoc>(TOMBSTONES_COLLECTION).find(filter, { batchSize: 500 });
  const runs = new Map<string, boolean>(); // one entry per run: policy runs are few
  for await (const t of cursor) {
    counts.tombstones++;
    if (typeof t.collection !== 'string' || t.collection.length === 0) continue;
    const area = t.kind === 'media' ? 'media' : 'record';
    const id = area === 'media' ? String(t.recordId) : idText(t.recordId);
    const runId = String(t.runId);
    let known = runs.get(runId);
    if (known === undefined) {
      known = (await db.collection<{ _id: string }>(RUNS_COLLECTION).findOne({ _id: runId }, { projection: { _id: 1 } })) !== null;
      runs.set(runId, known);
    }
    if (!known) sink({ kind: 'tombstone-unproven', area, collection: t.collection, id, detail: `tombstone names run ${runId} (policy ${String(t.policyId)}), which is not in ${RUNS_COLLECTION}`, recorded: String(t.sha256) });
    const present = await db.collection(t.collection).findOne({ _id: t.recordId } as Filter<Document>, { projection: { _id: 1 } });
    if (present === null) continue;
    sink({ kind: 'tombstoned-present', area, collection: t.collection, id, detail: `destroyed by policy ${t.policyId} run ${t.runId} at ${t.destroyedAt instanceof Date ? t.destroyedAt.toISOString() : String(t.destroyedAt)}, present again`, recorded: t.sha256 });
  }
}
