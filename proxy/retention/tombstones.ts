import { BSON, type Db, type Document } from 'mongodb';
import type { ResolvedDeps } from './deps.js';
import { MEDIA_CHUNKS, MEDIA_FILES } from './data-types.js';
import { RETENTION_COLLECTIONS, type Tombstone } from './types.js';
import { LIST_DEFS } from '../portal/queries/types.js';

/** `<collection>|<canonical Extended JSON of the _id>`: one tombstone per destroyed document. */
export function tombstoneId(collection: string, id: unknown): string {
  return `${collection}|${BSON.EJSON.stringify(id, { relaxed: false })}`;
}

/** Writes tombstones (upsert by id, first destruction kept), majority. Called BEFORE the delete they describe. */
export async function writeTombstones(deps: ResolvedDeps, stones: readonly Tombstone[]): Promise<void> {
  if (stones.length === 0) return;
  await deps.db.collection<Tombstone>(RETENTION_COLLECTIONS.tombstones).bulkWrite(
    stones.map((t) => {
      const { _id, ...rest } = t;
      return { updateOne: { filter: { _id }, update: { $setOnInsert: rest }, upsert: true } };
    }),
    { ordered: false, writeConcern: deps.writeConcern },
  );
}

/** Deletes GridFS files documents, then their chunks (a files document means a complete file; chunks alone are garbage). */
export async function deleteMedia(deps: ResolvedDeps, paths: readonly string[], confirm?: () => Promise<void>): Promise<void> {
  if (paths.length === 0) return;
  await confirm?.();
  await deps.db.collection<{ _id: string }>(MEDIA_FILES).deleteMany({ _id: { $in: [...paths] } }, { writeConcern: deps.writeConcern });
  await confirm?.();
  await deps.db.collection(MEDIA_CHUNKS).deleteMany({ files_id: { $in: [...paths] } }, { writeConcern: deps.writeConcern });
}

/**
 * Finishes or undoes the tombstones of a batch that a crash (or a failure) cut short, named by their ids:
 * - a record tombstone whose record still exists: the delete did not happen; the tombstone goes (the next run
 *   selects the record again if it is still due and not held);
 * - a media tombstone whose binary still exists and a file record still references: the same;
 * - a media tombstone whose binary no file record references, or whose files document is already gone: the
 *   destruction is completed (files document, chunks). A media policy's batch (the file record stays) that was cut
 *   before its files document went is undone like a record, and redone by the next run.
 */
export async function settleInFlight(deps: ResolvedDeps, ids: readonly string[]): Promise<{ completed: number; undone: number }> {
  const db: Db = deps.db;
  const col = db.collection<Tombstone>(RETENTION_COLLECTIONS.tombstones);
  const out = { completed: 0, undone: 0 };
  for (const t of await col.find({ _id: { $in: [...ids] } }).toArray()) {
    let stillThere: Document | null;
    if (t.kind === 'record') {
      stillThere = await db.collection(t.collection).findOne({ _id: t.recordId as never }, { projection: { _id: 1 } });
    } else {
      const path = String(t.recordId);
      const stored = await db.collection<{ _id: string }>(MEDIA_FILES).findOne({ _id: path }, { projection: { _id: 1 } });
      const referenced = stored ? await db.collection(LIST_DEFS.files.collection).findOne({ storagePath: path }, { projection: { _id: 1 } }) : null;
      stillThere = stored && referenced ? stored : null;
      if (!stillThere) await deleteMedia(deps, [path]);
    }
    if (stillThere) {
      await col.deleteOne({ _id: t._id }, { writeConcern: deps.writeConcern });
      out.undone++;
    } else out.completed++;
  }
  return out;
}
