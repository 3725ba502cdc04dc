import type { Db, Document, Filter } from 'mongodb';
import { JOBS_COLLECTION } from '../db/collections.js';
import { ProxyError } from '../errors.js';
import { MEDIA_BUCKET } from '../importer/index.js';
import { PORTAL_COLLECTIONS } from '../portal/collections.js';
import { verifyDigest, type Digest } from './digest.js';
import { emptyCounts, PROBLEM_KINDS, type Destroyed, type DestroyedSink, type Problem, type ProblemKind, type ProblemSink, type VerifyCounts } from './problems.js';
import { verifyAuditChain, type ChainHead } from './verify-audit.js';
import { verifyMediaFiles, verifyOrphanChunks } from './verify-media.js';
import { isRecordCollectionName, recordCollections, verifyRecordCollection } from './verify-records.js';
import { verifyTombstones } from './tombstones.js';

export const MEDIA_FILES_COLLECTION = `${MEDIA_BUCKET}.files`;
export const AUDIT_COLLECTION = PORTAL_COLLECTIONS.audit;
/** The report keeps this many problems in full (all are counted, and all are passed to `onProblem`). */
export const MAX_KEPT_PROBLEMS = 10_000;

export interface VerifyOptions {
  /** Only this record collection, or `media.files` (the media bucket), or `portal.audit` (the audit chain). */
  collection?: string;
  /** Only records and media of archives created at or after this time (proxy.jobs archiveCreatedAt). */
  since?: Date;
  /** Check the database against these kept digests instead (the same archives re-hashed, the audit head kept). */
  digests?: readonly Digest[];
  onProblem?: ProblemSink;
  /** `digests` only: each record or file of a kept day that a retention policy run destroyed (not a problem). */
  onDestroyed?: DestroyedSink;
  /** Called after each record, file chunk and audit entry (progress). */
  onProgress?: (counts: Readonly<VerifyCounts>) => void;
}

export interface VerifyReport {
  ok: boolean;
  startedAt: Date;
  finishedAt: Date;
  scope: { collection: string | null; since: Date | null; collections: string[]; digestDays: string[] };
  counts: VerifyCounts;
  problemCounts: Record<ProblemKind, number>;
  /** The first MAX_KEPT_PROBLEMS problems. */
  problems: Problem[];
  problemsTruncated: boolean;
  /** `digests` only: the first MAX_KEPT_PROBLEMS records and files destroyed by retention (counts.destroyed: all). */
  destroyed: Destroyed[];
  /** The newest audit entry as stored (compare it with a kept digest: only there is removing the newest visible). */
  auditHead: ChainHead | null;
}

/**
 * Recomputes every record hash and media file hash and walks the audit chain: the whole archive's fixity, in one
 * pass with cursors in bounded batches (memory stays flat). Reads only; never writes.
 */
export async function verifyDatabase(db: Db, options: VerifyOptions = {}): Promise<VerifyReport> {
  const startedAt = new Date();
  const counts = emptyCounts();
  const problemCounts = Object.fromEntries(PROBLEM_KINDS.map((k) => [k, 0])) as Record<ProblemKind, number>;
  const problems: Problem[] = [];
  const progress = (): void => options.onProgress?.(counts);
  const sink: ProblemSink = (p) => {
    problemCounts[p.kind]++;
    if (problems.length < MAX_KEPT_PROBLEMS) problems.push(p);
    options.onProblem?.(p);
  };
  const tick = (): void => progress();
  const destroyed: Destroyed[] = [];
  if (options.digests) {
    const onDestroyed: DestroyedSink = (d) => {
      counts.destroyed++;
      if (destroyed.length < MAX_KEPT_PROBLEMS) destroyed.push(d);
      options.onDestroyed?.(d);
    };
    for (const d of options.digests) counts.digestItems += await verifyDigest(db, d, sink, tick, onDestroyed);
    return { ...finish(options, startedAt, counts, problemCounts, problems, [], null), destroyed };
  }
  const only = options.collection;
  if (only !== undefined && only !== MEDIA_FILES_COLLECTION && only !== AUDIT_COLLECTION && !isRecordCollectionName(only)) {
    throw new ProxyError('USAGE', `--collection ${only} holds no records: name a record collection, ${MEDIA_FILES_COLLECTION} or ${AUDIT_COLLECTION}`);
  }
  const wants = (name: string): boolean => only === undefined || only === name;
  const archives = options.since === undefined ? undefined : await archivesSince(db, options.since);
  const recordFilter: Filter<Document> = archives === undefined ? {} : { '_retention.archive': { $in: archives } };
  const mediaFilter: Filter<Document> = archives === undefined ? {} : { 'metadata.archive': { $in: archives } };

  const collections = (await recordCollections(db)).filter(wants);
  if (only !== undefined && only !== MEDIA_FILES_COLLECTION && only !== AUDIT_COLLECTION && collections.length === 0) {
    collections.push(only); // an absent collection verifies as empty; its tombstones are still checked
  }
  for (const name of collections) await verifyRecordCollection(db, name, recordFilter, sink, counts, tick);
  if (wants(MEDIA_FILES_COLLECTION)) {
    await verifyMediaFiles(db, mediaFilter, sink, counts, tick);
    if (archives === undefined) await verifyOrphanChunks(db, sink);
  }
  if (only !== AUDIT_COLLECTION) await verifyTombstones(db, only, sink, counts);
  const auditHead = wants(AUDIT_COLLECTION) ? await verifyAuditChain(db.collection(AUDIT_COLLECTION), sink, counts, tick, db) : null;
  progress();
  return { ...finish(options, startedAt, counts, problemCounts, problems, collections, auditHead), destroyed };
}

function finish(options: VerifyOptions, startedAt: Date, counts: VerifyCounts, problemCounts: Record<ProblemKind, number>, problems: Problem[], collections: string[], auditHead: ChainHead | null): Omit<VerifyReport, 'destroyed'> {
  const total = Object.values(problemCounts).reduce((a, b) => a + b, 0);
  return {
    ok: total === 0,
    startedAt,
    finishedAt: new Date(),
    scope: { collection: options.collection ?? null, since: options.since ?? null, collections, digestDays: (options.digests ?? []).map((d) => d.day) },
    counts,
    problemCounts,
    problems,
    problemsTruncated: total > problems.length,
    auditHead,
  };
}

async function archivesSince(db: Db, since: Date): Promise<string[]> {
  const jobs = await db.collection<{ _id: string }>(JOBS_COLLECTION).find({ archiveCreatedAt: { $gte: since } }, { projection: { _id: 1 } }).toArray();
  return jobs.map((j) => j._id);
}
