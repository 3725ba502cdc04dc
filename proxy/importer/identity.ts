import type { Collection, Db, Document, Filter, WriteConcernSettings } from 'mongodb';
import { findIn, lookupBatchSize, pointQueriesOnly } from './point-queries.js';
import { RETENTION_FIELD } from './record-document.js';
import { retryIfBusy } from '../db/sqlite-busy.js';
import { idKey } from './upsert-batch.js';

/**
 * Record collections whose records are delivered again by every archive (staff, contacts, standing rooms), with the
 * field that names the person or room (the business id). A vendor should keep `_id` for them; one that does not
 * leaves several stored versions of one business id.
 */
export const IDENTITY_COLLECTIONS: Readonly<Record<string, string>> = {
  'lc-data-server.staff': 'staffId',
  'dynamic-phonebook.contacts': 'contactId',
  'history.rooms': 'roomId',
};

/** `_retention.superseded: true` on every stored version of a business id except the newest visible one. */
export const SUPERSEDED_FIELD = `${RETENTION_FIELD}.superseded`;
const ARCHIVED = '_archived';
/** Business ids per refresh query; keeps each command and the memory it needs small. */
export const IDENTITY_BATCH = 100;

const PROJECTION = (idField: string): Document => ({ _id: 1, [idField]: 1, [`${RETENTION_FIELD}.createdAt`]: 1, [`${RETENTION_FIELD}.archive`]: 1, [SUPERSEDED_FIELD]: 1, [ARCHIVED]: 1 });

interface Version { _id: unknown; key: string; at: number; archive: string; archived: boolean; superseded: boolean }

function version(doc: Document, idField: string): Version | undefined {
  const key: unknown = doc[idField];
  if (typeof key !== 'string') return undefined;
  const stamp = (doc[RETENTION_FIELD] ?? {}) as { createdAt?: unknown; archive?: unknown; superseded?: unknown };
  return {
    _id: doc._id,
    key,
    at: stamp.createdAt instanceof Date ? stamp.createdAt.getTime() : 0,
    archive: typeof stamp.archive === 'string' ? stamp.archive : '',
    archived: doc[ARCHIVED] !== undefined,
    superseded: stamp.superseded === true,
  };
}

/** Newest first: archive time, then archive name, then `_id` (so ties end the same way on every node). */
export function newerFirst(a: Pick<Version, '_id' | 'at' | 'archive'>, b: Pick<Version, '_id' | 'at' | 'archive'>): number {
  if (a.at !== b.at) return b.at - a.at;
  if (a.archive !== b.archive) return a.archive < b.archive ? 1 : -1;
  const x = idText(a._id);
  const y = idText(b._id);
  return x === y ? 0 : x < y ? 1 : -1;
}

function idText(id: unknown): string {
  return typeof id === 'object' && id !== null && 'toHexString' in id ? (id as { toHexString(): string }).toHexString() : String(id);
}

/**
 * The ids that must carry the marker and those that must not, for all stored versions of some business ids: the
 * newest version that retention has not archived is current (when every version is archived, the newest one).
 */
export function judgeVersions(versions: readonly Version[]): { supersede: unknown[]; current: unknown[] } {
  const byKey = new Map<string, Version[]>();
  for (const v of versions) {
    const list = byKey.get(v.key);
    if (list) list.push(v);
    else byKey.set(v.key, [v]);
  }
  const supersede: unknown[] = [];
  const current: unknown[] = [];
  for (const list of byKey.values()) {
    const sorted = list.sort(newerFirst);
    const winner = sorted.find((v) => !v.archived) ?? sorted[0];
    for (const v of sorted) {
      if (v === winner) {
        if (v.superseded) current.push(v._id);
      } else if (!v.superseded) supersede.push(v._id);
    }
  }
  return { supersede, current };
}

/**
 * Sets or clears `_retention.superseded` on every stored version of `keys` (business ids of one identity collection)
 * so that exactly one version per business id is current: newest-wins, whatever order the archives were imported in.
 * Recomputed from what is stored, so running it again, or on two nodes, ends the same way. Returns the writes made.
 */
export async function refreshIdentity(
  db: Db, collection: string, keys: readonly string[], writeConcern: WriteConcernSettings, opts: { arrivedIn?: string; batch?: number; pointOnly?: boolean; signal?: AbortSignal } = {},
): Promise<number> {
  const idField = IDENTITY_COLLECTIONS[collection];
  if (!idField || keys.length === 0) return 0;
  const col = db.collection(collection);
  // After an import only the versions that can win are read: those not superseded (the current one, at most a
  // duplicate an interruption left) and the archive's own; a superseded version is older than the current one or
  // archived, so it stays superseded. Retention, restore and backfill read every version.
  const which: Document = opts.arrivedIn === undefined ? {} : { $or: [{ [SUPERSEDED_FIELD]: { $ne: true } }, { [`${RETENTION_FIELD}.archive`]: opts.arrivedIn }] };
  const batch = opts.batch ?? IDENTITY_BATCH;
  let written = 0;
  for (let i = 0; i < keys.length; i += batch) {
    const slice = [...new Set(keys.slice(i, i + batch))];
    const docs: Document[] = [];
    for await (const d of findIn(col, idField, slice, which, { projection: PROJECTION(idField) }, opts.pointOnly === true)) docs.push(d);
    const { supersede, current } = judgeVersions(docs.map((d) => version(d, idField)).filter((v): v is Version => v !== undefined));
    // The winner's mark goes first: an interruption between the two writes leaves a duplicate row, never none.
    written += await updateVersions(col, current, { $unset: { [SUPERSEDED_FIELD]: '' } }, writeConcern, opts);
    written += await updateVersions(col, supersede, { $set: { [SUPERSEDED_FIELD]: true } }, writeConcern, opts);
  }
  return written;
}

/** Statements per update command on FerretDB (it hangs on ~100 matching statements in one command: upsert-batch.ts). */
const POINT_UPDATES_PER_COMMAND = 50;

/**
 * Applies `update` to the versions `ids`, in bounded commands, the abort signal checked between them: on MongoDB
 * `updateMany` of IDENTITY_BATCH ids at a time (`_id` index look-ups); on FerretDB one `{_id}` update per version
 * (the only filter it does not answer by reading the whole collection), 50 per command.
 */
async function updateVersions(col: Collection, ids: readonly unknown[], update: Document, writeConcern: WriteConcernSettings, opts: { pointOnly?: boolean; signal?: AbortSignal }): Promise<number> {
  let written = 0;
  const step = opts.pointOnly ? POINT_UPDATES_PER_COMMAND : IDENTITY_BATCH;
  for (let i = 0; i < ids.length; i += step) {
    opts.signal?.throwIfAborted();
    const slice = ids.slice(i, i + step);
    written += opts.pointOnly
      ? (await col.bulkWrite(slice.map((id) => ({ updateOne: { filter: { _id: id } as Filter<Document>, update } })), { ordered: false, writeConcern })).modifiedCount
      : (await col.updateMany({ _id: { $in: slice } } as Filter<Document>, update, { writeConcern })).modifiedCount;
  }
  return written;
}

/** A write about to happen to some stored versions (by `_id`): deleted, archived, or restored (archive mark removed). */
export interface PendingChange { gone?: readonly unknown[]; archived?: readonly unknown[]; restored?: readonly unknown[] }

/**
 * Before a write that archives, deletes or restores versions of `keys`: clears the mark of every version that will be
 * current once the write is done (judged as if it were), and marks nothing. Then the write, then refreshIdentity: a
 * crash anywhere in between leaves a duplicate row for a person or room, never a hole. Returns the writes made.
 * `opts` as refreshIdentity's (the importer's: FerretDB's large look-ups and `{_id}` updates, retried on SQLITE_BUSY,
 * since it runs beside the import's other record writes); versions are told apart by `idKey`, as MongoDB's `_id`
 * index does.
 */
export async function prepareIdentity(
  db: Db, collection: string, keys: readonly string[], change: PendingChange, writeConcern: WriteConcernSettings, opts: { batch?: number; pointOnly?: boolean } = {},
): Promise<number> {
  const idField = IDENTITY_COLLECTIONS[collection];
  if (!idField || keys.length === 0) return 0;
  const ids = (list: readonly unknown[] | undefined): Set<string> => new Set((list ?? []).map(idKey));
  const gone = ids(change.gone);
  const archived = ids(change.archived);
  const restored = ids(change.restored);
  const col = db.collection(collection);
  const batch = opts.batch ?? IDENTITY_BATCH;
  let written = 0;
  for (let i = 0; i < keys.length; i += batch) {
    const slice = [...new Set(keys.slice(i, i + batch))];
    const after: Version[] = [];
    for await (const d of findIn(col, idField, slice, {}, { projection: PROJECTION(idField) }, opts.pointOnly === true)) {
      const v = version(d, idField);
      if (!v || gone.has(idKey(v._id))) continue;
      if (archived.has(idKey(v._id))) v.archived = true;
      if (restored.has(idKey(v._id))) v.archived = false;
      after.push(v);
    }
    const { current } = judgeVersions(after);
    const update = { $unset: { [SUPERSEDED_FIELD]: '' } };
    written += await retryIfBusy(() => updateVersions(col, current, update, writeConcern, opts.pointOnly === true ? { pointOnly: true } : {}));
  }
  return written;
}

/** How refreshIdentity is run after an import (refreshArchiveIdentity, ImportIdentityKeys): batch size and mode. */
export async function importRefreshOptions(db: Db, archive: string, signal?: AbortSignal): Promise<{ arrivedIn: string; batch: number; pointOnly: boolean; signal?: AbortSignal }> {
  // On FerretDB each business-id look-up reads the whole collection: a day's keys go in a few large batches there.
  return { arrivedIn: archive, batch: await lookupBatchSize(db, IDENTITY_BATCH), pointOnly: await pointQueriesOnly(db), ...(signal ? { signal } : {}) };
}

/**
 * After an archive's records are written: refreshes the business ids it delivered to one identity collection, read
 * back by its archive name in bounded batches (memory does not grow with the archive). The importer normally takes
 * them from its own writes (identity-keys.ts); this is its fallback past the number of ids it remembers.
 */
export async function refreshArchiveIdentity(db: Db, collection: string, archive: string, writeConcern: WriteConcernSettings, signal?: AbortSignal): Promise<number> {
  const idField = IDENTITY_COLLECTIONS[collection];
  if (!idField) return 0;
  const opts = await importRefreshOptions(db, archive, signal);
  const cursor = db.collection(collection).find({ [`${RETENTION_FIELD}.archive`]: archive }, { projection: { _id: 0, [idField]: 1 } }).batchSize(Math.min(opts.batch, 1000));
  let written = 0;
  let keys: string[] = [];
  try {
    for await (const d of cursor) {
      signal?.throwIfAborted();
      const key: unknown = d[idField];
      if (typeof key === 'string') keys.push(key);
      if (keys.length >= opts.batch) {
        written += await refreshIdentity(db, collection, keys, writeConcern, opts);
        keys = [];
      }
    }
  } finally {
    await cursor.close();
  }
  return written + (await refreshIdentity(db, collection, keys, writeConcern, opts));
}
