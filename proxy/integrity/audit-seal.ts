import { createHash } from 'node:crypto';
import { BSON, ObjectId, type Collection, type Db, type Document } from 'mongodb';
import { PORTAL_COLLECTIONS } from '../portal/collections.js';
import type { AuditLog } from '../portal/audit.js';
import { MerkleSet } from './merkle.js';
import type { ProblemSink } from './problems.js';
import { EXACT_READ, idText } from './record-hash.js';

/**
 * The legacy entries one seal covers, one document each: `{_id: '<sealId>|<entry _id as canonical EJSON>', sealId,
 * entryId, label, hash}`. Only consulted when the legacy entries no longer match their seal, to name which entry
 * changed; the seal's root (in the chain) authenticates this list first.
 */
export const SEAL_ENTRIES_COLLECTION = 'integrity.audit_seal_entries';
export const SEAL_ACTION = 'audit.seal';
const BATCH = 500;
/** Entries per lookup when naming what differs from a seal. */
const DIFF_BATCH = 1000;

/** What the `audit.seal` chain entry records in `details`. */
export interface SealDetails {
  sealId: string;
  /** How many legacy entries it covers. */
  count: number;
  /** Merkle root (docs/integrity.md, as for the daily digest) over the legacy entries' hashes (legacyEntryHash). */
  root: string;
  /** The legacy entries are those without chain fields dated before this time (the chain's first entry). */
  before: string | null;
}

export type SealResult = { sealed: true; seq: number; details: SealDetails } | { sealed: false; reason: 'already-sealed'; seq: number; details: SealDetails } | { sealed: false; reason: 'nothing-to-seal' };

/** A legacy entry's hash: SHA-256 of the whole stored document (`_id` included) as canonical Extended JSON. */
export function legacyEntryHash(doc: Document): string {
  return createHash('sha256').update(BSON.EJSON.stringify(doc, { relaxed: false })).digest('hex');
}

/** The legacy entries: no chain fields, dated before the chain's first entry (every entry when there is no chain). */
function legacyFilter(before: Date | undefined): Document {
  return before === undefined ? { seq: { $exists: false } } : { seq: { $exists: false }, at: { $lt: before } };
}

async function chainStart(col: Collection<Document>): Promise<Date | undefined> {
  const first = await col.findOne({ seq: { $exists: true } }, { sort: { seq: 1 }, projection: { at: 1 } });
  return first?.at instanceof Date ? first.at : undefined;
}

/** The chain's (first) seal entry, if any: its seq and details. verifyAuditChain checks that it is genuine. */
async function findSeal(col: Collection<Document>): Promise<{ seq: number; details: SealDetails } | undefined> {
  const seal = await col.findOne({ seq: { $exists: true }, action: SEAL_ACTION }, { sort: { seq: 1 }, projection: { seq: 1, details: 1 } });
  return seal ? { seq: Number(seal.seq), details: seal.details as SealDetails } : undefined;
}

/**
 * `retention-proxy audit seal`: appends ONE chain entry `audit.seal` whose details carry the count of the legacy
 * entries (written before the chain began) and the Merkle root over their hashes, so that a later edit, removal or
 * insertion of a legacy entry shows in `verify`. The per-entry hashes are written first (SEAL_ENTRIES_COLLECTION);
 * a crash before the chain entry leaves them unreferenced (ignored; a new seal writes its own). Idempotent: a chain
 * that has a seal is not sealed again (a second seal would bless whatever changed since the first).
 */
export async function sealLegacyAudit(db: Db, audit: AuditLog, by: string): Promise<SealResult> {
  const col = db.collection(PORTAL_COLLECTIONS.audit);
  const existing = await findSeal(col);
  if (existing) return { sealed: false, reason: 'already-sealed', ...existing };
  const before = await chainStart(col);
  const entries = db.collection(SEAL_ENTRIES_COLLECTION);
  const sealId = new ObjectId().toHexString();
  const hashes = new MerkleSet();
  let pending: Document[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length > 0) await entries.insertMany(pending.splice(0), { ordered: false });
  };
  for await (const doc of col.find(legacyFilter(before), { ...EXACT_READ, batchSize: BATCH })) {
    const hash = legacyEntryHash(doc);
    hashes.add(hash);
    const entryId = idText(doc._id);
    pending.push({ _id: `${sealId}|${entryId}`, sealId, entryId, label: String(doc._id), hash });
    if (pending.length >= BATCH) await flush();
  }
  await flush();
  pending = [];
  if (hashes.count === 0) return { sealed: false, reason: 'nothing-to-seal' };
  const details: SealDetails = { sealId, count: hashes.count, root: hashes.root(), before: before?.toISOString() ?? null };
  await audit.record({ user: by, role: null, action: SEAL_ACTION, target: PORTAL_COLLECTIONS.audit, ip: 'local', userAgent: 'retention-proxy audit seal', outcome: 'ok', details: { ...details } });
  const sealed = await findSeal(col);
  return { sealed: true, seq: sealed?.seq ?? 0, details };
}

/**
 * Checks the legacy entries against the chain's seal (given by verifyAuditChain: a genuine `audit.seal` entry).
 * Equal count and root: nothing to report. Otherwise each difference is named from the seal's entry list (after
 * checking that list against the seal's root): `changed` (content differs), `removed` (sealed, gone), `inserted`
 * (a legacy entry the seal does not cover), in bounded batches of lookups both ways.
 */
export async function verifyLegacySeal(db: Db, seal: { seq: number; details: unknown }, before: Date | undefined, sink: ProblemSink): Promise<number> {
  const col = db.collection(PORTAL_COLLECTIONS.audit);
  const collection = col.collectionName;
  // Read as stored (promoteValues: false): the count is an Int32 object.
  const raw = seal.details as { sealId?: unknown; root?: unknown; count?: unknown } | undefined;
  const d = { sealId: raw?.sealId, root: raw?.root, count: Number(raw?.count) };
  if (typeof d.sealId !== 'string' || typeof d.root !== 'string' || !Number.isSafeInteger(d.count)) {
    sink({ kind: 'changed', area: 'audit', collection, id: `seq ${String(seal.seq)}`, detail: 'the audit.seal entry has no sealId, count and root' });
    return 0;
  }
  const now = new MerkleSet();
  for await (const doc of col.find(legacyFilter(before), { ...EXACT_READ, batchSize: BATCH })) now.add(legacyEntryHash(doc));
  if (now.count === d.count && now.root() === d.root) return d.count;

  const listed = new MerkleSet();
  for await (const e of db.collection(SEAL_ENTRIES_COLLECTION).find({ sealId: d.sealId }, { projection: { hash: 1 }, batchSize: BATCH })) listed.add(String(e.hash));
  const where = `sealed by seq ${String(seal.seq)}`;
  if (listed.count !== d.count || listed.root() !== d.root) {
    sink({ kind: 'changed', area: 'audit', collection, id: 'legacy entries', detail: `the legacy entries (${String(now.count)} now) no longer match the seal (${String(d.count)} ${where}), and the seal's entry list (${SEAL_ENTRIES_COLLECTION}) was altered too: which entry changed cannot be named`, recorded: d.root, computed: now.root() });
    return d.count;
  }
  // Bounded batches both ways (memory does not grow with the legacy entries): the seal's entries looked up among the
  // legacy entries (changed, removed), then the legacy entries looked up in the seal's list (inserted).
  const legacy = legacyFilter(before);
  const checkSealed = async (batch: Document[]): Promise<void> => {
    const ids = batch.map((e) => BSON.EJSON.parse(String(e.entryId), { relaxed: false }) as unknown);
    const found = new Map<string, string>();
    for await (const doc of col.find({ $and: [{ _id: { $in: ids } }, legacy] }, { ...EXACT_READ, batchSize: DIFF_BATCH })) found.set(idText(doc._id), legacyEntryHash(doc));
    for (const e of batch) {
      const hash = found.get(String(e.entryId));
      if (hash === undefined) sink({ kind: 'removed', area: 'audit', collection, id: `_id ${String(e.label)}`, detail: `legacy entry ${where} is gone`, recorded: String(e.hash) });
      else if (hash !== String(e.hash)) sink({ kind: 'changed', area: 'audit', collection, id: `_id ${String(e.label)}`, detail: `legacy entry no longer matches its hash ${where}`, recorded: String(e.hash), computed: hash });
    }
  };
  let batch: Document[] = [];
  for await (const e of db.collection(SEAL_ENTRIES_COLLECTION).find({ sealId: d.sealId }, { batchSize: DIFF_BATCH })) {
    batch.push(e);
    if (batch.length >= DIFF_BATCH) await checkSealed(batch.splice(0));
  }
  await checkSealed(batch.splice(0));
  const checkLegacy = async (docs: Document[]): Promise<void> => {
    if (docs.length === 0) return;
    const keys = docs.map((doc) => `${d.sealId as string}|${idText(doc._id)}`);
    const known = new Set((await db.collection<{ _id: string }>(SEAL_ENTRIES_COLLECTION).find({ _id: { $in: keys } }, { projection: { _id: 1 } }).toArray()).map((e) => e._id));
    docs.forEach((doc, i) => {
      if (!known.has(keys[i] as string)) sink({ kind: 'inserted', area: 'audit', collection, id: `_id ${String(doc._id)}`, detail: `a legacy entry (no chain fields, dated before the chain) not ${where}`, computed: legacyEntryHash(doc) });
    });
  };
  batch = [];
  for await (const doc of col.find(legacy, { ...EXACT_READ, batchSize: DIFF_BATCH })) {
    batch.push(doc);
    if (batch.length >= DIFF_BATCH) await checkLegacy(batch.splice(0));
  }
  await checkLegacy(batch);
  return d.count;
}
