import type { Db, Document, Filter } from 'mongodb';
import { MEDIA_BUCKET } from '../importer/index.js';
import type { ProblemSink, VerifyCounts } from './problems.js';
import { EXACT_READ, idText, storedRecordHash } from './record-hash.js';
import { TOMBSTONES_COLLECTION } from './tombstones.js';

/** Collections that hold no vendor records: the proxy's, the portal's, the media bucket's, the server's. */
const NOT_RECORDS = ['proxy.', 'portal.', 'retention.', 'integrity.', 'system.', `${MEDIA_BUCKET}.`];
/** The file records: each `storagePath` must be a file in the media bucket. */
export const FILE_RECORDS_COLLECTION = 'file-management.files';
const BATCH = 500;

/** Whether `name` can hold vendor records (is not one of the proxy's, the portal's, the media bucket's, ...). */
export function isRecordCollectionName(name: string): boolean {
  return !NOT_RECORDS.some((p) => name.startsWith(p));
}

/** Every record collection, known or not (anything the importer could have written), sorted by name. */
export async function recordCollections(db: Db): Promise<string[]> {
  const all = await db.listCollections({}, { nameOnly: true }).toArray();
  return all
    .filter((c) => (c as { type?: string }).type !== 'view' && isRecordCollectionName(c.name))
    .map((c) => c.name)
    .sort();
}

/**
 * Recomputes the hash of every record of `name` matching `filter` and reports changed (hash differs) and untracked
 * (no provenance stamp) records; for file records also media that is not stored (missing) unless a tombstone shows it
 * was destroyed by a retention policy run. One cursor, bounded batches: memory does not grow with the collection.
 */
export async function verifyRecordCollection(db: Db, name: string, filter: Filter<Document>, sink: ProblemSink, counts: VerifyCounts, tick?: () => void, pace?: () => Promise<void>): Promise<void> {
  const pendingPaths: { path: string; id: string }[] = [];
  const cursor = db.collection(name).find(filter, { ...EXACT_READ, batchSize: BATCH });
  for await (const doc of cursor) {
    counts.records++;
    tick?.();
    if (pace && counts.records % BATCH === 0) await pace();
    const id = idText(doc._id);
    const { recorded, computed } = storedRecordHash(doc);
    if (recorded === undefined) sink({ kind: 'untracked', area: 'record', collection: name, id, detail: 'record without a provenance stamp (_retention.sha256)', computed });
    else if (recorded !== computed) sink({ kind: 'changed', area: 'record', collection: name, id, detail: 'content does not match _retention.sha256', recorded, computed });
    if (name === FILE_RECORDS_COLLECTION && typeof doc.storagePath === 'string') {
      pendingPaths.push({ path: doc.storagePath, id });
      if (pendingPaths.length >= BATCH) await checkMediaPresent(db, pendingPaths.splice(0), sink);
    }
  }
  if (pendingPaths.length > 0) await checkMediaPresent(db, pendingPaths, sink);
}

async function checkMediaPresent(db: Db, refs: readonly { path: string; id: string }[], sink: ProblemSink): Promise<void> {
  const paths = refs.map((r) => r.path);
  const present = new Set((await db.collection(`${MEDIA_BUCKET}.files`).find({ _id: { $in: paths } } as unknown as Filter<Document>, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)));
  const absent = paths.filter((p) => !present.has(p));
  if (absent.length === 0) return;
  const destroyed = new Set(
    (await db.collection(TOMBSTONES_COLLECTION).find({ collection: `${MEDIA_BUCKET}.files`, recordId: { $in: absent } }, { projection: { recordId: 1 } }).toArray()).map((d) => String(d.recordId)),
  );
  for (const r of refs) {
    if (present.has(r.path) || destroyed.has(r.path)) continue;
    sink({ kind: 'missing', area: 'media', collection: `${MEDIA_BUCKET}.files`, id: r.path, detail: `file record ${FILE_RECORDS_COLLECTION} ${r.id} points at media that is not stored` });
  }
}
