import type { Collection, Db, Document, Filter, MongoClient } from 'mongodb';

/**
 * FerretDB 1.24 (SQLite backend) hands SQLite a WHERE clause only for a filter that is exactly `{ _id: <string or
 * ObjectId> }` (backends/sqlite/collection.go: `params.Filter.Len() == 1`); every other filter, `{_id: {$in: [...]}}`
 * and `{_id, $or: [...]}` included, is answered by reading and decoding every document of the collection. So on
 * FerretDB the importer looks stored records up one `_id` at a time, while on MongoDB, where both shapes are `_id`
 * index look-ups, it keeps the single `$in` query and the conditional replace. Decided once per client from
 * `buildInfo` (FerretDB answers with `ferretdbVersion`).
 *
 * Even that WHERE clause is a scan of the table in a stock FerretDB 1.24 build (its expression does not match the
 * `_id_` index's, so SQLite cannot use the index; a find stops at the first match, an update or delete reads every
 * row); the build scripts/install-ferretdb.sh makes has that fixed, and there these look-ups and writes cost the same
 * whatever the collection's size (docs/benchmarks.md, "FerretDB's own _id index").
 */
const byClient = new WeakMap<MongoClient, Promise<boolean>>();

export function pointQueriesOnly(db: Db): Promise<boolean> {
  const client = db.client;
  let known = byClient.get(client);
  if (!known) {
    known = db
      .admin()
      .command({ buildInfo: 1 })
      .then((info) => typeof info.ferretdbVersion === 'string');
    // A failed probe is not cached: the caller's error handling sees it, the next import asks again.
    known.catch(() => byClient.delete(client));
    byClient.set(client, known);
  }
  return known;
}

/**
 * Keys per look-up by anything but `_id` on FerretDB: each such query reads the whole collection there, whatever it
 * asks, and from FERRETDB_IN_SCAN_KEYS keys on (findIn) costs the same however many keys it carries.
 */
const FERRETDB_SCAN_BATCH = 20_000;

/**
 * How many keys one `{field: {$in}}` look-up should carry: `indexed` on MongoDB (an index read per key: small commands,
 * little memory), FERRETDB_SCAN_BATCH on FerretDB, where the query costs one scan of the collection however few keys it
 * asks for, so a day's keys in 100s meant dozens of scans of a collection that grows with the year.
 */
export async function lookupBatchSize(db: Db, indexed: number): Promise<number> {
  return (await pointQueriesOnly(db)) ? Math.max(indexed, FERRETDB_SCAN_BATCH) : indexed;
}

/** Look-ups in flight at once for one call of findByIds (a few hundred ids at most per call). */
const POINT_CONCURRENCY = 8;

/**
 * The stored documents whose `_id` is one of `ids`: one `{_id: {$in}}` query, or with `pointOnly` one `{_id}` query
 * per string or ObjectId id (at most POINT_CONCURRENCY at a time). FerretDB pushes `{_id}` down to SQLite only for
 * those two types; an `_id` of any other type (number, document...) would make each point query a scan, so those
 * go into one `$in` query (one scan for all of them). Order of the result is not defined.
 */
export async function findByIds<T extends Document>(coll: Collection<T>, ids: readonly unknown[], options: { projection: Document; promoteValues?: boolean }, pointOnly: boolean): Promise<Document[]> {
  if (ids.length === 0) return [];
  if (!pointOnly) return coll.find({ _id: { $in: [...ids] } } as Filter<T>, options).toArray();
  const points = ids.filter(pushedDown);
  const others = ids.filter((id) => !pushedDown(id));
  const out: Document[] = others.length === 0 ? [] : await coll.find({ _id: { $in: others } } as Filter<T>, options).toArray();
  for (let i = 0; i < points.length; i += POINT_CONCURRENCY) {
    const found = await Promise.all(points.slice(i, i + POINT_CONCURRENCY).map((id) => coll.findOne({ _id: id } as Filter<T>, options)));
    for (const d of found) if (d) out.push(d);
  }
  return out;
}

/** An `_id` whose `{_id}` filter FerretDB 1.24 hands to SQLite (see the top of this file: string or ObjectId). */
function pushedDown(id: unknown): boolean {
  return typeof id === 'string' || (typeof id === 'object' && id !== null && (id as { _bsontype?: unknown })._bsontype === 'ObjectId');
}

/**
 * Tests only: makes `pointQueriesOnly` answer `value` for this client, so that the MongoDB path (`false`) is exercised
 * on the test database (FerretDB) too. Not reachable from configuration.
 */
export function setPointQueriesForTests(client: MongoClient, value: boolean): void {
  byClient.set(client, Promise.resolve(value));
}

/** From this many keys a `{field: {$in}}` look-up on FerretDB reads the collection without the `$in` (findIn). */
export const FERRETDB_IN_SCAN_KEYS = 1000;

/**
 * The documents of `coll` that match `rest` and whose `field` (a top-level field) is one of the strings `keys`,
 * streamed. On MongoDB one `{...rest, field: {$in: keys}}` query (an index read per key). On FerretDB 1.24 every filter
 * but `{_id}` reads and decodes the whole collection, and its `$in` then compares each document's value with the keys
 * one by one: 60 000 documents took 1.9 s with 1 key, 4.0 s with 1 000 and 8.6 s with 5 000. So there (`scan`), from
 * FERRETDB_IN_SCAN_KEYS keys on, the query carries `rest` alone and the keys are matched here in a Set: 3.0 s for the
 * same 60 000 documents whatever the number of keys (docs/benchmarks.md, "FerretDB's `$in`").
 * Either way only documents whose `field` is a string among `keys` come out (one whose field is an array holding a
 * key, which `$in` also matches, does not), so both paths give the same documents. `projection` must keep `field`.
 * Memory: the keys and one cursor batch.
 */
export async function* findIn(
  coll: Collection<Document>, field: string, keys: readonly string[], rest: Document, options: { projection: Document; maxTimeMS?: number }, scan: boolean,
): AsyncGenerator<Document> {
  if (field.includes('.') || field.startsWith('$')) throw new Error(`findIn: ${field} is not a top-level field`);
  if (options.projection[field] !== 1) throw new Error(`findIn: the projection must include ${field}`);
  if (field in rest) throw new Error(`findIn: ${field} is both the key field and in the rest of the filter`);
  const wanted = new Set(keys);
  if (wanted.size === 0) return;
  const unfiltered = scan && wanted.size >= FERRETDB_IN_SCAN_KEYS;
  const only = wanted.size === 1 ? [...wanted][0] : { $in: [...wanted] };
  const filter: Document = unfiltered ? rest : { ...rest, [field]: only };
  const cursor = coll.find(filter, options).batchSize(1000);
  try {
    for await (const d of cursor) {
      const v: unknown = d[field];
      if (typeof v === 'string' && wanted.has(v)) yield d;
    }
  } finally {
    await cursor.close();
  }
}
