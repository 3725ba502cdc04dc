import { createHash } from 'node:crypto';
import { BSON, MongoServerError, type Collection, type Document, type Filter } from 'mongodb';
import { ProxyError } from '../errors.js';
import { setOwn } from './record-hash.js';

/** `prevHash` of the first chained entry (seq 1). */
export const GENESIS_HASH = '0'.repeat(64);
/** Fields of a chained audit entry that are not part of its hashed content. */
const UNHASHED = new Set(['_id', 'hash']);
const DUPLICATE_KEY = 11000;
const MAX_APPEND_ATTEMPTS = 100;

/** The chain fields every audit entry written since the chain exists carries. */
export interface ChainFields {
  /** 1, 2, 3, ... without gaps; unique (index `seq_unique`). */
  seq: number;
  /** `hash` of the entry with seq - 1 (GENESIS_HASH for seq 1). */
  prevHash: string;
  /** Lower-case hex sha256 of the entry's canonical content (auditEntryHash). */
  hash: string;
}

/**
 * The hash of an audit entry as stored: sha256 of the canonical Extended JSON (`EJSON.stringify(doc,
 * { relaxed: false })`) of the document without `_id` and `hash`, keys in stored order. `seq` and `prevHash` are part
 * of the content, which links each entry to its predecessor. `doc` must be read with promoteValues: false.
 */
export function auditEntryHash(doc: Document): string {
  const content: Document = {};
  for (const key of Object.keys(doc)) if (!UNHASHED.has(key)) setOwn(content, key, doc[key]);
  return createHash('sha256').update(BSON.EJSON.stringify(content, { relaxed: false })).digest('hex');
}

/**
 * The document with every value in its BSON type (Int32, Double, ...; undefined becomes null, as the driver stores
 * it by default): inserting this very object stores exactly what was hashed, whatever the client's options.
 */
function asStored(doc: Document): Document {
  return BSON.deserialize(BSON.serialize(doc, { ignoreUndefined: false }), { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true });
}

/**
 * Appends `entry` to the chain: reads the head, inserts seq + 1 linked to it, and retries when another writer (the
 * other proxy of the HA pair) took that seq first (the unique index on seq refuses the second insert). There is no
 * separate head document, so a crash between steps leaves no gap and nothing to repair. Returns the chain fields.
 */
export async function appendChained<T extends Document>(col: Collection<T>, entry: Document): Promise<ChainFields> {
  for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
    const head = await col.findOne({ seq: { $exists: true } } as unknown as Filter<T>, { sort: { seq: -1 }, projection: { seq: 1, hash: 1 }, promoteValues: true });
    const seq = head ? Number(head.seq) + 1 : 1;
    const prevHash = head ? String(head.hash) : GENESIS_HASH;
    const content = asStored({ ...entry, seq, prevHash });
    const hash = auditEntryHash(content);
    try {
      await col.insertOne({ ...content, hash } as unknown as Parameters<Collection<T>['insertOne']>[0]);
      return { seq, prevHash, hash };
    } catch (err) {
      // Only `seq` can collide (the `_id` is a fresh ObjectId); FerretDB does not name the index in the error.
      if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) {
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 5 * (attempt + 1))));
        continue;
      }
      throw err;
    }
  }
  throw new ProxyError('DB_WRITE_REJECTED', `audit entry not appended: ${MAX_APPEND_ATTEMPTS} attempts lost the race for the next seq`);
}
