import { createHash } from 'node:crypto';
import type { Db, Document } from 'mongodb';
import { JOBS_COLLECTION } from '../db/collections.js';
import { ProxyError } from '../errors.js';
import { PORTAL_COLLECTIONS } from '../portal/collections.js';
import { dayHashes, MEDIA_FILES } from './day-hashes.js';
import { MerkleSet } from './merkle.js';
import type { DestroyedSink, ProblemSink } from './problems.js';

/** Every digest made, newest last (never updated or deleted by the proxy). */
export const DIGESTS_COLLECTION = 'integrity.digests';
const IMPORTED_STATES = ['imported', 'reported'];
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const HEX64 = /^[0-9a-f]{64}$/;

export interface DigestCollection { collection: string; count: number; root: string }

/** One day's digest: the line a customer keeps outside the database (docs/integrity.md, "The daily digest"). */
export interface Digest {
  v: 1;
  /** UTC day (YYYY-MM-DD) of the archives' timestamps (the time in the archive name, manifest createdAt). */
  day: string;
  site: string;
  /** The archives of that day that were imported, by file name, sorted. */
  archives: string[];
  records: number;
  files: number;
  /** Merkle root over every record hash and media file hash of those archives. */
  merkleRoot: string;
  /** The same per collection (`media.files` for media), sorted by name. */
  collections: DigestCollection[];
  /** The audit chain's newest entry when the digest was made. */
  auditHead: { seq: number; hash: string } | null;
  createdAt: string;
}

/** The digest as one line of JSON, keys in a fixed order. */
export function digestLine(d: Digest): string {
  return JSON.stringify({
    v: d.v, day: d.day, site: d.site, archives: d.archives, records: d.records, files: d.files, merkleRoot: d.merkleRoot,
    collections: d.collections.map((c) => ({ collection: c.collection, count: c.count, root: c.root })),
    auditHead: d.auditHead === null ? null : { seq: d.auditHead.seq, hash: d.auditHead.hash }, createdAt: d.createdAt,
  });
}

/** The UTC day `YYYY-MM-DD` as [start, end). Throws USAGE for anything else. */
export function dayRange(day: string): { start: Date; end: Date } {
  const start = new Date(`${day}T00:00:00.000Z`);
  if (!DAY.test(day) || Number.isNaN(start.getTime()) || start.toISOString().slice(0, 10) !== day) {
    throw new ProxyError('USAGE', `a day is YYYY-MM-DD (got ${day})`);
  }
  return { start, end: new Date(start.getTime() + 86_400_000) };
}

async function archivesOfDay(db: Db, day: string): Promise<string[]> {
  const { start, end } = dayRange(day);
  const jobs = await db.collection<{ _id: string }>(JOBS_COLLECTION)
    .find({ archiveCreatedAt: { $gte: start, $lt: end }, state: { $in: IMPORTED_STATES } }, { projection: { _id: 1 } }).toArray();
  return jobs.map((j) => j._id).sort();
}

function summarise(sets: Map<string, MerkleSet>): { records: number; files: number; merkleRoot: string; collections: DigestCollection[] } {
  const all = new MerkleSet();
  const collections: DigestCollection[] = [];
  let records = 0;
  for (const name of [...sets.keys()].sort()) {
    const set = sets.get(name) as MerkleSet;
    all.addAll(set);
    if (name !== MEDIA_FILES) records += set.count;
    collections.push({ collection: name, count: set.count, root: set.root() });
  }
  return { records, files: sets.get(MEDIA_FILES)?.count ?? 0, merkleRoot: all.root(), collections };
}

/** Computes the digest of `day` from the hashes recorded at import; stores nothing (see DigestService). */
export async function computeDigest(db: Db, day: string, site: string, now: Date): Promise<Digest> {
  const archives = await archivesOfDay(db, day);
  const summary = summarise(await dayHashes(db, archives, 'recorded'));
  const head = await db.collection(PORTAL_COLLECTIONS.audit).findOne({ seq: { $exists: true } }, { sort: { seq: -1 }, projection: { seq: 1, hash: 1 } });
  const auditHead = head ? { seq: Number(head.seq), hash: String(head.hash) } : null;
  return { v: 1, day, site, archives, ...summary, auditHead, createdAt: now.toISOString() };
}

/** Digests from a kept file: one JSON line each; blank lines and lines starting with # are skipped. */
export function parseDigestFile(text: string, fileName: string): Digest[] {
  const out: Digest[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const bad = (why: string): ProxyError => new ProxyError('USAGE', `${fileName} line ${String(i + 1)}: not a digest line (${why})`);
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      throw bad('not JSON');
    }
    const d = v as Partial<Digest>;
    if (d.v !== 1 || typeof d.day !== 'string' || !DAY.test(d.day) || !Array.isArray(d.archives) || !d.archives.every((a) => typeof a === 'string')) throw bad('v, day or archives');
    if (typeof d.merkleRoot !== 'string' || !HEX64.test(d.merkleRoot) || !Array.isArray(d.collections)) throw bad('merkleRoot or collections');
    if (d.auditHead !== null && (typeof d.auditHead !== 'object' || !Number.isSafeInteger(d.auditHead.seq) || !HEX64.test(String(d.auditHead.hash)))) throw bad('auditHead');
    out.push(d as Digest);
  });
  if (out.length === 0) throw new ProxyError('USAGE', `${fileName} holds no digest line`);
  return out;
}

/**
 * Checks the database against a kept digest: the same archives' records and media re-hashed from what is stored now
 * must give the same counts and Merkle roots (per collection and overall), and the audit entry that was the chain's
 * head must still be there with the same hash. A record or file destroyed by a retention policy run counts with its
 * tombstone's sha256 and is passed to `onDestroyed` (not a problem). Returns the number of items re-hashed.
 */
export async function verifyDigest(db: Db, digest: Digest, sink: ProblemSink, tick?: () => void, onDestroyed?: DestroyedSink): Promise<number> {
  const now = summarise(await dayHashes(db, digest.archives, 'recomputed', tick, onDestroyed));
  const id = `day ${digest.day}`;
  const kept = new Map(digest.collections.map((c) => [c.collection, c]));
  const found = new Map(now.collections.map((c) => [c.collection, c]));
  for (const name of [...new Set([...kept.keys(), ...found.keys()])].sort()) {
    const k = kept.get(name);
    const f = found.get(name);
    if (k?.count === f?.count && k?.root === f?.root) continue;
    sink({
      kind: (f?.count ?? 0) < (k?.count ?? 0) ? 'missing' : 'changed', area: 'digest', collection: name, id,
      detail: `${String(k?.count ?? 0)} items in the kept digest, ${String(f?.count ?? 0)} now; the Merkle root differs`,
      ...(k ? { recorded: k.root } : {}), ...(f ? { computed: f.root } : {}),
    });
  }
  if (now.merkleRoot !== digest.merkleRoot) {
    sink({ kind: 'changed', area: 'digest', collection: '*', id, detail: `Merkle root over all ${String(digest.records)} records and ${String(digest.files)} files differs (now ${String(now.records)} and ${String(now.files)})`, recorded: digest.merkleRoot, computed: now.merkleRoot });
  }
  if (digest.auditHead) {
    const entry = await db.collection(PORTAL_COLLECTIONS.audit).findOne({ seq: digest.auditHead.seq } as Document, { projection: { hash: 1 } });
    if (!entry) sink({ kind: 'removed', area: 'digest', collection: PORTAL_COLLECTIONS.audit, id: `seq ${String(digest.auditHead.seq)}`, detail: `the audit chain's head of ${digest.day}'s digest is gone` });
    else if (entry.hash !== digest.auditHead.hash) sink({ kind: 'changed', area: 'digest', collection: PORTAL_COLLECTIONS.audit, id: `seq ${String(digest.auditHead.seq)}`, detail: `the audit chain's head of ${digest.day}'s digest has another hash now`, recorded: digest.auditHead.hash, computed: String(entry.hash) });
  }
  return now.records + now.files;
}

/** sha256 of a digest line (what the audit entry `integrity.digest` records). */
export function lineSha256(line: string): string {
  return createHash('sha256').update(line).digest('hex');
}
