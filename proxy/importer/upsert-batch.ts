import { isDeepStrictEqual } from 'node:util';
import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Document, type Filter, type WriteConcernSettings, type WriteError } from 'mongodb';
import { ProxyError } from '../errors.js';
import { RETENTION_FIELD } from './record-document.js';

const DUPLICATE_KEY = 11000;
/**
 * FerretDB 1.24 (SQLite) hangs forever on an update command with more than ~99 statements that match documents
 * (measured: it seems to hold one pooled connection per statement until the command ends); MongoDB does not mind.
 */
const MAX_REPLACES_PER_COMMAND = 50;

/**
 * Makes the collection hold exactly `docs` (by `_id`), i.e. the result of replaceOne({_id}, doc, {upsert: true}) for
 * each, but cheaply in the common case:
 * 1. insertMany, unordered: new records go in at plain-insert speed (upserts are far slower, on FerretDB ~300x);
 * 2. records whose `_id` already exists (a re-import, or a record repeated by a later archive) are read back and
 *    replaced only when their stored `_retention` stamp differs (same stamp = same content from the same entry of
 *    the same archive, so a re-import writes nothing); replaced with replaceOne upsert in commands of <= 50.
 * Every write uses `writeConcern`. Throws DB_NOT_DURABLE itself when a write concern error accompanies duplicates;
 * other errors are the driver's (the caller maps them).
 */
export async function upsertBatch(coll: Collection, docs: readonly Document[], writeConcern: WriteConcernSettings): Promise<void> {
  let duplicates: Document[];
  try {
    await coll.insertMany(docs, { ordered: false, writeConcern, forceServerObjectId: false });
    return;
  } catch (err) {
    duplicates = duplicatesOf(err, docs, coll.collectionName);
  }
  const ids: unknown[] = duplicates.map((d) => d._id as unknown);
  const stored = await coll.find({ _id: { $in: ids } } as Filter<Document>, { projection: { [RETENTION_FIELD]: 1 }, promoteValues: false }).toArray();
  const storedStamps = new Map<string, unknown>(stored.map((s) => [idKey(s._id), s[RETENTION_FIELD] as unknown]));
  const changed = duplicates.filter((d) => !isDeepStrictEqual(storedStamps.get(idKey(d._id)), d[RETENTION_FIELD]));
  for (let i = 0; i < changed.length; i += MAX_REPLACES_PER_COMMAND) {
    const ops: AnyBulkWriteOperation[] = changed.slice(i, i + MAX_REPLACES_PER_COMMAND).map((doc) => {
      const id: unknown = doc._id;
      return { replaceOne: { filter: { _id: id } as Filter<Document>, replacement: doc, upsert: true } };
    });
    await coll.bulkWrite(ops, { ordered: false, writeConcern });
  }
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
