import { createHash, type Hash } from 'node:crypto';
import { BSON, type Db, type Document, type Filter } from 'mongodb';
import { MEDIA_BUCKET, RETENTION_FIELD } from '../importer/index.js';
import { MerkleSet } from './merkle.js';
import type { DestroyedSink } from './problems.js';
import { EXACT_READ, idText, storedRecordHash } from './record-hash.js';
import { TOMBSTONES_COLLECTION, type TombstoneDoc } from './tombstones.js';
import { recordCollections } from './verify-records.js';

export const MEDIA_FILES = `${MEDIA_BUCKET}.files`;

/**
 * The hashes of everything the given archives imported, per collection (`media.files` for media). `recorded`: the
 * hashes recorded at import (`_retention.sha256`, `metadata.sha256`), read with a projection; `recomputed`: each
 * record re-hashed from its stored content and each file from its chunks (what `verify --digest` does). A record or
 * file that a retention policy run destroyed counts with the sha256 its tombstone keeps (and is passed to
 * `onDestroyed`): a destroyed record keeps its day's digest.
 */
export async function dayHashes(db: Db, archives: readonly string[], mode: 'recorded' | 'recomputed', tick?: () => void, onDestroyed?: DestroyedSink): Promise<Map<string, MerkleSet>> {
  const out = new Map<string, MerkleSet>();
  const list = [...archives];
  for (const name of await recordCollections(db)) {
    const set = new MerkleSet();
    const filter: Filter<Document> = { [`${RETENTION_FIELD}.archive`]: { $in: list } };
    const options = mode === 'recorded' ? { projection: { [`${RETENTION_FIELD}.sha256`]: 1 }, batchSize: 1000 } : { ...EXACT_READ, batchSize: 500 };
    for await (const doc of db.collection(name).find(filter, options)) {
      const recorded = (doc[RETENTION_FIELD] as { sha256?: unknown } | undefined)?.sha256;
      set.add(mode === 'recorded' && typeof recorded === 'string' ? recorded : storedRecordHash(doc).computed);
      tick?.();
    }
    if (set.count > 0) out.set(name, set);
  }
  const media = new MerkleSet();
  const files = db.collection(MEDIA_FILES).find({ 'metadata.archive': { $in: list } }, { projection: { 'metadata.sha256': 1 }, batchSize: 100 });
  const batch: unknown[] = [];
  const rehash = async (): Promise<void> => {
    for (const sha of await filesSha256(db, batch.splice(0))) {
      media.add(sha);
      tick?.();
    }
  };
  for await (const file of files) {
    const recorded = (file.metadata as { sha256?: unknown } | undefined)?.sha256;
    if (mode === 'recorded' && typeof recorded === 'string') {
      media.add(recorded);
      tick?.();
    } else {
      batch.push(file._id);
      if (batch.length >= FILE_BATCH) await rehash();
    }
  }
  if (batch.length > 0) await rehash();
  if (media.count > 0) out.set(MEDIA_FILES, media);
  await addTombstones(db, list, out, onDestroyed);
  return out;
}

/** The tombstones of these archives whose record or file is gone (one that is present again is already counted). */
async function addTombstones(db: Db, archives: string[], out: Map<string, MerkleSet>, onDestroyed?: DestroyedSink): Promise<void> {
  const stones = db.collection<TombstoneDoc>(TOMBSTONES_COLLECTION).find({ archive: { $in: archives } }, { batchSize: 500 });
  for await (const t of stones) {
    if (typeof t.collection !== 'string' || typeof t.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(t.sha256)) continue;
    const present = await db.collection(t.collection).findOne({ _id: t.recordId } as Filter<Document>, { projection: { _id: 1 } });
    if (present !== null) continue;
    let set = out.get(t.collection);
    if (set === undefined) out.set(t.collection, (set = new MerkleSet()));
    set.add(t.sha256);
    const media = t.collection === MEDIA_FILES;
    onDestroyed?.({
      area: media ? 'media' : 'record', collection: t.collection, id: media ? String(t.recordId) : idText(t.recordId), sha256: t.sha256,
      policyId: String(t.policyId), runId: String(t.runId), destroyedAt: t.destroyedAt instanceof Date ? t.destroyedAt.toISOString() : String(t.destroyedAt), archive: String(t.archive),
    });
  }
}

/** Files whose chunks one query reads (as in verify-media.ts: FerretDB scans every chunk per query). */
const FILE_BATCH = 10;
const idKey = (id: unknown): string => (typeof id === 'string' ? `s:${id}` : BSON.EJSON.stringify(id, { relaxed: false }));

/**
 * SHA-256 of each file's chunks in order of n (whatever is there: gaps show as a different hash), in the order of
 * `ids`. One query for the batch's chunks, hashed as they come; a file whose chunks do not come in order of n is
 * hashed again on its own (fileSha256), so the result is the same whatever order the server returns them in.
 */
async function filesSha256(db: Db, ids: readonly unknown[]): Promise<string[]> {
  const state = new Map<string, { next: number; hash: Hash } | null>();
  for (const id of ids) state.set(idKey(id), { next: 0, hash: createHash('sha256') });
  const chunks = db.collection(`${MEDIA_BUCKET}.chunks`).find({ files_id: { $in: [...ids] } }, { batchSize: 16, projection: { files_id: 1, n: 1, data: 1 } });
  try {
    for await (const chunk of chunks) {
      const key = idKey(chunk.files_id);
      const s = state.get(key);
      if (!s) continue;
      if (Number(chunk.n) !== s.next) state.set(key, null); // out of order: read again on its own
      else {
        if (chunk.data instanceof BSON.Binary) s.hash.update(chunk.data.buffer);
        s.next++;
      }
    }
  } finally {
    await chunks.close();
  }
  const out: string[] = [];
  for (const id of ids) {
    const s = state.get(idKey(id));
    out.push(s ? s.hash.digest('hex') : await fileSha256(db, id));
  }
  return out;
}

/** SHA-256 of a GridFS file's chunks in order of n (whatever is there: gaps show as a different hash). */
async function fileSha256(db: Db, id: unknown): Promise<string> {
  const hash = createHash('sha256');
  const chunks = db.collection(`${MEDIA_BUCKET}.chunks`).find({ files_id: id }, { sort: { n: 1 }, batchSize: 16, projection: { data: 1 } });
  for await (const chunk of chunks) {
    if (chunk.data instanceof BSON.Binary) hash.update(chunk.data.buffer);
  }
  return hash.digest('hex');
}
