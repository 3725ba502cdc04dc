import { BSON, MongoBulkWriteError, type AnyBulkWriteOperation, type Binary, type Collection, type Document, type Filter, type WriteConcernSettings, type WriteError } from 'mongodb';
import { ProxyError } from '../errors.js';
import { findByIds } from './point-queries.js';
import { RETENTION_FIELD, type RetentionStamp } from './record-document.js';
import { retryIfBusy } from '../db/sqlite-busy.js';

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
 *    the stored one is older (`replaces` below), so an older archive imported after a newer one never overwrites the
 *    newer delivery and a re-import of the same archive writes nothing. How the condition is enforced depends on the
 *    mode (below);
 * 3. a record deleted between the insert and the replace (nothing matched and nothing is stored) is inserted again.
 * Replaces go in commands of <= 50. Every write uses `writeConcern`. Throws DB_NOT_DURABLE itself when a write concern
 * error accompanies duplicates; other errors are the driver's (the caller maps them).
 *
 * MongoDB (`pointOnly` false): the condition is part of each replace's own filter (`{_id, $or: [...]}`), so the
 * decision and the write are one atomic single-document update: the rule holds in any import order, even against
 * concurrent imports. The read of the stored stamps before it only saves the writes that could not match and feeds
 * the hook; it decides nothing.
 *
 * FerretDB (`pointOnly`, point-queries.ts): every read and write of step 2 has the filter `{_id}` alone, the only one
 * FerretDB 1.24 hands to SQLite rather than decoding every document (a year's database made each conditional replace
 * such a scan; with the `_id` index fix of scripts/install-ferretdb.sh it is an index look-up).
 * Here the read DOES decide: the replace is unconditional. So each command's stored stamps are read again by `_id`
 * right before it is sent (after the hook, which may take its time), judged (`replaces`) and only the records still
 * older are replaced; a command that fails with SQLITE_BUSY goes back to that re-read instead of being resent. The
 * rule therefore holds for imports that run one at a time, which is how the product runs them (one import at a time,
 * on the HA leader); against a concurrent writer of the same `_id` there is a window of one round trip between the
 * re-read and the replace in which a newer version can be overwritten. (FerretDB 1.24 runs its own conditional
 * replace the same way, a query then `UPDATE ... WHERE _id = ?`, not one transaction: handler/msg_update.go.)
 */
export async function upsertBatch(coll: Collection, docs: readonly Document[], writeConcern: WriteConcernSettings, hooks?: ReplaceHooks, pointOnly = false): Promise<void> {
  let pending: readonly Document[] = docs;
  for (let round = 1; ; round++) {
    let duplicates: Document[];
    try {
      await retryIfBusy(() => coll.insertMany(pending, { ordered: false, writeConcern, forceServerObjectId: false }));
      hooks?.inserted?.(pending);
      return;
    } catch (err) {
      duplicates = duplicatesOf(err, pending, coll.collectionName);
    }
    // Unordered, only duplicate-key errors and no write concern error (duplicatesOf): everything else went in. A
    // record an earlier SQLITE_BUSY attempt had written is among the duplicates now, never counted as inserted.
    const refused = new Set(duplicates);
    hooks?.inserted?.(pending.filter((d) => !refused.has(d)));
    hooks?.duplicated?.(duplicates);
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

/**
 * Lets a caller see what a batch does (room statistics, import-room-marks.ts): the stored versions it is about to
 * replace (the room a record leaves), and which of its records went in as new documents and which took the replace path.
 */
export interface ReplaceHooks {
  /** Fields of the stored documents to read besides the stamp. */
  projection: Document;
  /** Called with the stored versions of the records about to be replaced, before any replace is sent. */
  beforeReplace(stored: readonly Document[]): Promise<void>;
  /** Called with the records an insert stored as new documents (acknowledged with the write concern). */
  inserted?(docs: readonly Document[]): void;
  /** Called with the records refused as duplicates of a stored `_id`, before their replace step (whatever its outcome). */
  duplicated?(docs: readonly Document[]): void;
  /**
   * Called once per replace step, before any replace is sent: the records about to replace a stored version (each with
   * that version as read, `projection` and `_retention`), and those that will not (the stored one is newer, or the same
   * delivery). Records found missing are not in either: they go back to the insert (`inserted`).
   */
  judged?(replacing: readonly { stored: Document; incoming: Document }[], kept: readonly Document[]): void;
}

/** Both callers' hooks on one batch (projections merged, each hook called for each). */
export function combineHooks(a: ReplaceHooks | undefined, b: ReplaceHooks | undefined): ReplaceHooks | undefined {
  if (!a || !b) return a ?? b;
  return {
    projection: { ...a.projection, ...b.projection },
    beforeReplace: async (stored) => {
      await a.beforeReplace(stored);
      await b.beforeReplace(stored);
    },
    inserted: (docs) => {
      a.inserted?.(docs);
      b.inserted?.(docs);
    },
    duplicated: (docs) => {
      a.duplicated?.(docs);
      b.duplicated?.(docs);
    },
    judged: (replacing, kept) => {
      a.judged?.(replacing, kept);
      b.judged?.(replacing, kept);
    },
  };
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
  if (hooks?.judged) {
    const byId = new Map(stored.map((s) => [idKey(s._id), s]));
    const replacing = candidates.map((incoming) => ({ stored: byId.get(idKey(incoming._id)) as Document, incoming }));
    const chosen = new Set(candidates);
    hooks.judged(replacing, docs.filter((d) => storedStamps.has(idKey(d._id)) && !chosen.has(d)));
  }
  if (hooks && candidates.length > 0) {
    const replaced = new Set(candidates.map((d) => idKey(d._id)));
    await hooks.beforeReplace(stored.filter((s) => replaced.has(idKey(s._id))));
  }
  for (let i = 0; i < candidates.length; i += MAX_REPLACES_PER_COMMAND) {
    const slice = candidates.slice(i, i + MAX_REPLACES_PER_COMMAND);
    const outcome = pointOnly ? await retryIfBusy(() => replaceStillOlder(coll, slice, writeConcern)) : await replaceConditionally(coll, slice, writeConcern);
    missing.push(...outcome.gone);
    if (outcome.unmatched.length > 0) {
      // Not matched: stored by a newer archive meanwhile (fine), or deleted meanwhile (insert it again).
      const present = new Set((await findByIds(coll, outcome.unmatched.map((d) => d._id as unknown), { projection: { _id: 1 }, promoteValues: false }, pointOnly)).map((s) => idKey(s._id)));
      missing.push(...outcome.unmatched.filter((d) => !present.has(idKey(d._id))));
    }
  }
  return missing;
}

/** What one replace command left: records found gone before it, and records it sent that matched nothing. */
interface ReplaceOutcome {
  gone: Document[];
  unmatched: Document[];
}

/** MongoDB: the rule in each replace's filter; resending it after SQLITE_BUSY cannot overwrite a newer version. */
async function replaceConditionally(coll: Collection, slice: readonly Document[], writeConcern: WriteConcernSettings): Promise<ReplaceOutcome> {
  const ops: AnyBulkWriteOperation[] = slice.map((doc) => ({ replaceOne: { filter: olderThan(doc), replacement: doc } }));
  const res = await retryIfBusy(() => coll.bulkWrite(ops, { ordered: false, writeConcern }));
  return { gone: [], unmatched: res.matchedCount < slice.length ? [...slice] : [] };
}

/**
 * FerretDB: reads the stored stamps of `slice` by `_id` again, right before the write, and replaces (filter `{_id}`)
 * only the records whose stored version is still older. Called again as a whole after SQLITE_BUSY (a failed command
 * may have written part of its replaces; the re-read sees them as not older any more).
 */
async function replaceStillOlder(coll: Collection, slice: readonly Document[], writeConcern: WriteConcernSettings): Promise<ReplaceOutcome> {
  const now = await findByIds(coll, slice.map((d) => d._id as unknown), { projection: { [RETENTION_FIELD]: 1 }, promoteValues: false }, true);
  const stamps = new Map<string, unknown>(now.map((s) => [idKey(s._id), s[RETENTION_FIELD] as unknown]));
  const gone = slice.filter((d) => !stamps.has(idKey(d._id)));
  const older = slice.filter((d) => stamps.has(idKey(d._id)) && replaces(stamps.get(idKey(d._id)), d[RETENTION_FIELD]));
  if (older.length === 0) return { gone, unmatched: [] };
  const ops: AnyBulkWriteOperation[] = older.map((doc) => ({ replaceOne: { filter: { _id: doc._id as unknown } as Filter<Document>, replacement: doc } }));
  const res = await coll.bulkWrite(ops, { ordered: false, writeConcern });
  return { gone, unmatched: res.matchedCount < older.length ? older : [] };
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

/**
 * A Map key that is equal exactly when MongoDB's unique `_id` index sees the same value: numbers by value whatever
 * their BSON type (Int32 1, Double 1.0 and Long 1 are one `_id` there), Binary with its subtype, ObjectId by its hex,
 * strings and everything else by type and canonical Extended JSON (1 and '1' differ).
 */
export function idKey(id: unknown): string {
  if (id === undefined || id === null) return 'null';
  if (typeof id === 'number' || typeof id === 'bigint') return `n:${String(id)}`;
  if (typeof id === 'string') return `s:${id}`;
  if (typeof id === 'boolean') return `boolean:${id ? 'true' : 'false'}`;
  if (typeof id !== 'object') return typeof id; // symbol, function: never a BSON value
  const tag = (id as { _bsontype?: unknown })._bsontype;
  if (tag === 'Int32' || tag === 'Double') return `n:${String((id as { valueOf(): number }).valueOf())}`;
  if (tag === 'Long') return `n:${(id as { toString(): string }).toString()}`;
  if (tag === 'ObjectId') return `o:${(id as { toHexString(): string }).toHexString()}`;
  if (tag === 'Binary') return `b:${String((id as Binary).sub_type)}:${Buffer.from((id as Binary).buffer).toString('hex')}`;
  return `${typeof tag === 'string' ? tag : 'object'}:${BSON.EJSON.stringify(id, { relaxed: false })}`;
}
