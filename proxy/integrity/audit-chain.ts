import { createHash } from 'node:crypto';
import { BSON, MongoServerError, ObjectId, type Collection, type Document } from 'mongodb';
import { busyAttemptLeft, busyPause, isSqliteRefusal, type BusyRetry } from '../db/sqlite-busy.js';
import { ProxyError } from '../errors.js';
import { setOwn } from './record-hash.js';

/** `prevHash` of the first chained entry (seq 1). */
export const GENESIS_HASH = '0'.repeat(64);
/** Fields of a chained audit entry that are not part of its hashed content. */
const UNHASHED = new Set(['_id', 'hash']);
const DUPLICATE_KEY = 11000;
const MAX_APPEND_ATTEMPTS = 60;
const MAX_BACKOFF_MS = 250;

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

export interface ChainHead { seq: number; hash: string }

/**
 * Appends entries to the chain of one audit collection. Within the process, appends run one after the other (a
 * promise chain), so only the proxies of the HA pair race for a seq, not the requests of one proxy; the head this
 * writer wrote last is kept and the collection is read again only after a lost race (duplicate seq) or an error.
 * A lost race is retried after a random pause (full jitter, growing with each attempt). Each attempt inserts with a
 * fresh `_id`: when a duplicate key error is in fact the driver's retry of an insert that had committed, that entry
 * is found by its `_id` and returned instead of being appended a second time. FerretDB's SQLite write lock (an
 * insert refused whole, or interrupted) is a lost turn too, tried again up to BUSY_ATTEMPTS attempts, within the
 * request's budget when a request passes one. There is no separate head document,
 * so a crash between steps leaves no gap and nothing to repair.
 */
export class ChainAppender {
  private tail: Promise<unknown> = Promise.resolve();
  /** undefined: not known (read it); null: the chain is empty. */
  private head: ChainHead | null | undefined;

  constructor(private readonly col: Collection<Document>) {}

  /**
   * Appends `entry` (after every append this writer was given before it). Returns its chain fields. `busy`: how long
   * FerretDB's refusals are tried again (a request passes its budget; by default up to BUSY_ATTEMPTS attempts).
   */
  append(entry: Document, busy: BusyRetry = {}): Promise<ChainFields> {
    const run = this.tail.then(() => this.appendNow(entry, busy));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async appendNow(entry: Document, busyRetry: BusyRetry): Promise<ChainFields> {
    let busyAttempts = 0;
    const startedAt = Date.now();
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      if (this.head === undefined) this.head = await this.readHead();
      const seq = this.head ? this.head.seq + 1 : 1;
      const prevHash = this.head ? this.head.hash : GENESIS_HASH;
      const content = asStored({ ...entry, seq, prevHash });
      const hash = auditEntryHash(content);
      const _id = new ObjectId();
      try {
        await this.col.insertOne({ _id, ...content, hash });
        this.head = { seq, hash };
        return { seq, prevHash, hash };
      } catch (err) {
        this.head = undefined;
        // FerretDB's SQLite refuses a write while another connection holds its one write lock, or interrupts it by
        // mistake (db/sqlite-busy.ts): nothing was written, so it is a lost turn like a lost race, tried again a few
        // times (each such attempt may have waited SQLite's busy timeout already).
        const busy = isSqliteRefusal(err);
        if (busy ? !busyAttemptLeft(++busyAttempts, startedAt, busyRetry) : !(err instanceof MongoServerError) || err.code !== DUPLICATE_KEY) throw err;
        // FerretDB does not name the index: the duplicate is either this very insert, committed by an earlier try
        // the driver retried, or a seq another writer took first.
        const mine = await this.col.findOne({ _id }, { projection: { seq: 1, prevHash: 1, hash: 1 }, promoteValues: true });
        if (mine !== null) {
          const fields = { seq: Number(mine.seq), prevHash: String(mine.prevHash), hash: String(mine.hash) };
          this.head = { seq: fields.seq, hash: fields.hash };
          return fields;
        }
        if (busy) await busyPause(busyAttempts);
        else await new Promise((r) => setTimeout(r, Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt)));
      }
    }
    throw new ProxyError('DB_WRITE_REJECTED', `audit entry not appended: ${String(MAX_APPEND_ATTEMPTS)} attempts lost the race for the next seq`);
  }

  private async readHead(): Promise<ChainHead | null> {
    const head = await this.col.findOne({ seq: { $exists: true } }, { sort: { seq: -1 }, projection: { seq: 1, hash: 1 }, promoteValues: true });
    return head ? { seq: Number(head.seq), hash: String(head.hash) } : null;
  }
}
