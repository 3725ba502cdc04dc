import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Document, type Filter, type WriteConcernSettings, type WriteError } from 'mongodb';
import { ProxyError } from '../errors.js';
import { findByIds } from './point-queries.js';
import { RETENTION_FIELD, type RetentionStamp } from './record-document.js';
import { retryIfBusy } from './sqlite-busy.js';

const DUPLICATE_KEY = 11000;
/**
 * FerretDB 1.24 (SQLite) hangs forever on an update command with more than ~99 statements that match documents
 * (measured: it seems to hold one pooled connection per statement until the command ends); MongoDB does not mind.
 */
const MAX_REPLACES_PER_COMMAND = 50;

/**
 * Makes the collection hold, for every `_id` of `docs`, the newest delivery of that record, cheaply in the common case:
 * 1. insertMany, unordered: new records go in at plain-insert speed (upserts are far slower, on FerretDB ~300x);
 * 2. records whose `_id` already exists (a re-import, or a record repeated by another archive) are replaced only when
 *    the stored one is older (`replaces` below), and the condition is part of the replace's own filter, so an older
 *    archive imported after a newer one (in any order, even concurrently) never overwrites the newer delivery; a
 *    re-import of the same archive writes nothing. The read of the stored stamps before it only saves the writes that
 *    could not match; it decides nothing.
 * 3. a record deleted between the insert and the replace (nothing matched and nothing is stored) is inserted again.
 * Replaces go in commands of <= 50. Every write uses `writeConcern`. Throws DB_NOT_DURABLE itself when a write concern
 * error accompanies duplicates; other errors are the driver's (the caller maps them).
 *
 * `pointOnly` (FerretDB, point-queries.ts): every read and write of step 2 has the filter `{_id}` alone, the only one
 * FerretDB does not answer by scanning the collection (a year's database made each conditional replace a scan: a
 * second day into 60 k records took 10-25x as long as into an empty database). The stored stamp is read by `_id`,
 * judged here (`replaces`), and the replace is conditioned on `_id` only. That is the same check-then-write FerretDB
 * 1.24 itself performs for the conditional filter (handler/msg_update.go: a query, the filter applied in Go, then
 * `UPDATE ... WHERE _id = ?`, not one transaction), so what concurrent imports can do there does not change in kind;
 * on MongoDB (`pointOnly` false) the condition stays in the replace's filter, atomic.
 */
export async function upsertBatch(coll: Collection, docs: readonly Document[], writeConcern: WriteConcernSettings, hooks?: ReplaceHooks, pointOnly = false): Promise<void> {
  let pending: readonly Document[] = docs;
  for (let round = 1; ; round++) {
    let duplicates: Document[];
    try {
      await retryIfBusy(() => coll.insertMany(pending, { ordered: false, writeConcern, forceServerObjectId: false }));
      return;
    } catch (err) {
      duplicates = duplicatesOf(err, pending, coll.collectionName);
    }
    pending = await replaceOlder(coll, lastOfEachId(duplicates), writeConcern, hooks, pointOnly);
    if (pending.length === 0) return;
    if (round >= MAX_ROUNDS) {
      throw new ProxyError('DB_WRITE_REJECTED', `${coll.collectionName}: ${pending.length} records were deleted and re-inserted concurrently ${round} times`, {
        details: { collection: coll.collectionName },
      });
    }
  }
}

const MAX_ROUNDS = 5;

/** Lets a caller see the stored versions a batch is about to replace (room statistics: the room a record leaves). */
export interface ReplaceHooks {
  /** Fields of the stored documents to read besides the stamp. */
  projection: Document;
  /** Called with the stored versions of the records about to be replaced, before any replace is sent. */
  beforeReplace(stored: readonly Document[]): Promise<void>;
}

/**
 * The replace step for records that exist: returns the ones found missing afterwards (deleted meanwhile), to insert.
 * `docs` holds each `_id` once.
 */
async function replaceOlder(coll: Collection, docs: readonly Document[], writeConcern: WriteConcernSettings, hooks: ReplaceHooks | undefined, pointOnly: boolean): Promise<Document[]> {
  const stored = await findByIds(coll, docs.map((d) => d._id as unknown), { projection: { ...hooks?.projection, [RETENTION_FIELD]: 1 }, promoteValues: false }, pointOnly);
  const storedStamps = new Map<string, unknown>(stored.map((s) => [idKey(s._id), s[RETENTION_FIELD] as unknown]));
  const missing = docs.filter((d) => !storedStamps.has(idKey(d._id)));
  const candidates = docs.filter((d) => storedStamps.has(idKey(d._id)) && replaces(storedStamps.get(idKey(d._id)), d[RETENTION_FIELD]));
  if (hooks && candidates.length > 0) {
    const replaced = new Set(candidates.map((d) => idKey(d._id)));
    await hooks.beforeReplace(stored.filter((s) => replaced.has(idKey(s._id))));
  }
  for (let i = 0; i < candidates.length; i += MAX_REPLACES_PER_COMMAND) {
    const slice = candidates.slice(i, i + MAX_REPLACES_PER_COMMAND);
    const ops: AnyBulkWriteOperation[] = slice.map((doc) => ({ replaceOne: { filter: pointOnly ? ({ _id: doc._id as unknown } as Filter<Document>) : olderThan(doc), replacement: doc } }));
    const res = await retryIfBusy(() => coll.bulkWrite(ops, { ordered: false, writeConcern }));
    if (res.matchedCount < slice.length) {
      // Not matched: stored by a newer archive meanwhile (fine), or deleted meanwhile (insert it again).
      const ids = slice.map((d) => d._id as unknown);
      const present = new Set((await findByIds(coll, ids, { projection: { _id: 1 }, promoteValues: false }, pointOnly)).map((s) => idKey(s._id)));
      missing.push(...slice.filter((d) => !present.has(idKey(d._id))));
    }
  }
  return missing;
}

/**
 * The rule, as a filter: the stored record (same `_id`) comes from an older archive (`_retention.createdAt`), or has no
 * archive time (stored before the field existed), or comes from another archive with the same time whose name sorts
 * first, or from this very archive with other content (a record repeated within one archive: its last version wins).
 */
function olderThan(doc: Document): Filter<Document> {
  const s = doc[RETENTION_FIELD] as RetentionStamp;
  const at = `${RETENTION_FIELD}.createdAt`;
  const archive = `${RETENTION_FIELD}.archive`;
  return {
    _id: doc._id as unknown,
    $or: [
      { [at]: { $lt: s.createdAt } },
      { [at]: { $exists: false } },
      { [at]: s.createdAt, [archive]: { $lt: s.archive } },
      { [at]: s.createdAt, [archive]: s.archive, [`${RETENTION_FIELD}.sha256`]: { $ne: s.sha256 } },
    ],
  } as Filter<Document>;
}

/** `olderThan` in JavaScript, for a stored stamp read back: true when the incoming record would replace it. */
export function replaces(stored: unknown, incoming: unknown): boolean {
  const inc = incoming as RetentionStamp;
  if (typeof stored !== 'object' || stored === null) return true;
  const s = stored as Partial<RetentionStamp>;
  if (!(s.createdAt instanceof Date)) return true;
  const a = s.createdAt.getTime();
  const b = inc.createdAt.getTime();
  if (a !== b) return a < b;
  if (s.archive !== inc.archive) return typeof s.archive === 'string' && s.archive < inc.archive;
  return s.sha256 !== inc.sha256;
}

/** One document per `_id`, the last one: within one archive, the last version of a repeated record wins. */
function lastOfEachId(docs: readonly Document[]): Document[] {
  const byId = new Map<string, Document>();
  for (const d of docs) {
    const k = idKey(d._id);
    byId.delete(k);
    byId.set(k, d);
  }
  return [...byId.values()];
}

/** The documents refused only because their `_id` exists; rethrows anything else. */
function duplicatesOf(err: unknown, docs: readonly Document[], collection: string): Document[] {
  if (!(err instanceof MongoBulkWriteError)) throw err;
  const raw = err.writeErrors;
  const writeErrors: WriteError[] = Array.isArray(raw) ? (raw as WriteError[]) : [raw as WriteError];
  if (writeErrors.length === 0 || writeErrors.some((e) => e.code !== DUPLICATE_KEY || !isIdDuplicate(e))) throw err;
  if (err.result?.getWriteConcernError() != null) {
    throw new ProxyError('DB_NOT_DURABLE', `writing records to ${collection}: ${err.message}`, { cause: err, details: { collection } });
  }
  return writeErrors.map((e) => docs[e.index]).filter((d): d is Document => d !== undefined);
}

/** A duplicate on `_id` (not on some other unique index, which a replace would not cure). */
function isIdDuplicate(e: WriteError): boolean {
  const msg = e.errmsg ?? '';
  // MongoDB: "... index: _id_ dup key: ..."; FerretDB does not name the index. Other unique indexes name theirs.
  return msg.includes('_id_') || !/index: /.test(msg);
}

/** A Map key equal for equal BSON values of `_id` (ObjectId, string, number, document...). */
function idKey(id: unknown): string {
  return JSON.stringify(id === undefined ? null : (id as object)) + '|' + typeofTag(id);
}

function typeofTag(id: unknown): string {
  if (id === null || typeof id !== 'object') return typeof id;
  const tag = (id as { _bsontype?: unknown })._bsontype;
  return typeof tag === 'string' ? tag : 'object';
}
