import type { Db, WriteConcernSettings } from 'mongodb';
import type { Logger } from 'pino';
import { databaseError } from '../db/connect.js';
import { majority } from '../db/write-concern.js';
import { ProxyError } from '../errors.js';
import type { Fence } from '../ha/lease.js';
import { parseArchiveName } from '../archive/archive-name.js';
import { DispositionFilter } from './disposition-filter.js';
import { MEDIA_BUCKET } from './entry-mapping.js';
import { IDENTITY_COLLECTIONS } from './identity.js';
import { ImportIdentityKeys } from './identity-keys.js';
import { stampCallTimes } from './call-times.js';
import { writeMediaFiles } from './media-writer.js';
import type { ImportPlan } from './plan.js';
import { writeRecordFiles } from './record-writer.js';
import { refreshDirtyRooms } from '../portal/room-stats.js';

export interface ImportJob {
  jobId: string;
  /** Archive file name. */
  archive: string;
}

export interface ImportOptions {
  /** Records per bulkWrite (default 1000). */
  batchSize?: number;
  /** wtimeoutMS of the majority write concern used for every write. */
  wtimeoutMs: number;
  log: Logger;
  /** HA: the leader's fence; media writes that delete or overwrite are conditioned on it (media-writer.ts). */
  fence?: Fence;
  signal?: AbortSignal;
  onProgress?: (p: { records: number; files: number }) => void;
}

export interface ImportResult {
  /** Records written per collection. */
  recordCounts: Record<string, number>;
  /** Media files stored (uploaded now or already present). */
  files: number;
  /** Total size of those media files. */
  bytes: number;
  records: number;
  /** Media files uploaded by this run; the rest were already stored. */
  filesUploaded: number;
  /**
   * Records (per collection) and media (`media.files`) left out because retention destroyed them (tombstoned);
   * counted in recordCounts and files as read, never written again.
   */
  skippedTombstoned: Record<string, number>;
}

const DEFAULT_BATCH_SIZE = 1000;
const MAX_WRITES_IN_FLIGHT = 2;

/**
 * Phase two of an import: writes what `planImport` checked. Every write uses `{ w: 'majority', j: true, wtimeoutMS }`; a write
 * concern failure throws DB_NOT_DURABLE, a lost connection DB_UNAVAILABLE. Running it again for the same archive
 * changes nothing (records are upserted by `_id` with deterministic content; media are keyed by archive path).
 */
export async function applyImport(db: Db, dir: string, plan: ImportPlan, job: ImportJob, options: ImportOptions): Promise<ImportResult> {
  const log = options.log.child({ component: 'importer', jobId: job.jobId, archive: job.archive });
  if (plan.manifest && plan.manifest.jobId.toLowerCase() !== job.jobId.toLowerCase()) {
    throw new ProxyError('MANIFEST_MISMATCH', `manifest.json is for job ${plan.manifest.jobId}, the archive for ${job.jobId}`, {
      details: { path: 'manifest.json' },
    });
  }
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ProxyError('VALIDATION', `batchSize must be a positive integer, got ${batchSize}`);
  const writeConcern: WriteConcernSettings = majority(options.wtimeoutMs);
  const progress = { records: 0, files: 0 };
  const report = (): void => options.onProgress?.({ ...progress });

  const started = Date.now();
  // Each step's time at debug level: what a step costs against the database's size (bench group `year`).
  let stepStart = started;
  const stepDone = (step: string): void => {
    log.debug({ step, ms: Date.now() - stepStart }, 'import step done');
    stepStart = Date.now();
  };
  const filter = await DispositionFilter.open(db).catch((err: unknown) => {
    throw databaseError(err, 'reading retention tombstones');
  });
  const archiveCreatedAt = parseArchiveName(job.archive)?.createdAt;
  const identities = new ImportIdentityKeys(db, writeConcern);
  const recordCounts = await writeRecordFiles(db, dir, plan.recordFiles, job, {
    filter,
    identities,
    ...(archiveCreatedAt ? { archiveCreatedAt } : {}),
    ...(plan.callTimes ? { callTimes: plan.callTimes } : {}),
    batchSize,
    maxInFlight: MAX_WRITES_IN_FLIGHT,
    writeConcern,
    log,
    ...(options.signal ? { signal: options.signal } : {}),
    onBatch: (n) => {
      progress.records += n;
      report();
    },
  });
  stepDone('records');
  // One person, one identity: versions of a staff member, contact or room delivered under another `_id` are marked,
  // for the business ids this import's writes delivered or took a version from (identity-keys.ts).
  const refreshed = await identities.refresh(job.archive, options.signal).catch((err: unknown) => {
    throw databaseError(err, 'marking superseded versions');
  });
  log.debug({ keys: refreshed.keys, written: refreshed.written, readBack: refreshed.readBack, walked: refreshed.walked }, 'identities refreshed');
  stepDone('identities');
  // Voicemails and recordings are listed by the time of their call: those whose call is in the archive got it in their
  // insert (plan-call-times.ts); this stamps the rest, from the stored calls.
  await stampCallTimes(db, { [`_retention.archive`]: job.archive }, writeConcern, options.signal).catch((err: unknown) => {
    throw databaseError(err, 'stamping call times of voicemails and recordings');
  });
  stepDone('call times');
  // The rooms these records went to (marked dirty before each batch) get their statistics recomputed, with any a crash left marked.
  await refreshDirtyRooms(db, writeConcern, options.signal ? { signal: options.signal } : {}).catch((err: unknown) => {
    throw databaseError(err, 'updating room statistics');
  });
  stepDone('room statistics');
  const binaries = await filter.media(plan.binaries);
  const media = await writeMediaFiles(db, dir, binaries, job, {
    writeConcern,
    ...(options.fence ? { fence: options.fence } : {}),
    log,
    ...(options.signal ? { signal: options.signal } : {}),
    onFile: () => {
      progress.files++;
      report();
    },
  });
  stepDone('media');
  const records = Object.values(recordCounts).reduce((a, b) => a + b, 0);
  filter.log(log);
  log.info(
    { records, collections: Object.keys(recordCounts).length, files: media.files, filesUploaded: media.uploaded, bytes: media.bytes, ms: Date.now() - started },
    'archive imported',
  );
  return { recordCounts, files: media.files, bytes: media.bytes, records, filesUploaded: media.uploaded, skippedTombstoned: { ...filter.skipped } };
}

/** Indexes the importer relies on for lookups; idempotent (createIndex is a no-op when the index exists). */
export async function ensureImportIndexes(db: Db): Promise<void> {
  try {
    await db.collection(`${MEDIA_BUCKET}.files`).createIndex({ 'metadata.jobId': 1 }, { name: 'metadata_jobId' });
  } catch (err) {
    throw databaseError(err, 'creating the media.files index');
  }
  // The identity refresh reads versions by business id (past 50 000 ids also an archive's records by archive
  // name), stampCallTimes by archive name: without these a node that runs no portal would scan the collections once per
  // import. Same names and keys as the portal's (proxy/portal/indexes.ts), so whichever comes first builds the one index.
  for (const [collection, idField] of Object.entries(IDENTITY_COLLECTIONS)) await createImportIndex(db, collection, `portal_${idField}`, { [idField]: 1 });
  for (const collection of ARCHIVE_INDEXED) await createImportIndex(db, collection, 'portal_archive', { '_retention.archive': 1 });
}

/** Collections an import reads back by archive name (identity refresh, call times). */
const ARCHIVE_INDEXED = [...Object.keys(IDENTITY_COLLECTIONS), 'file-management.files'];

async function createImportIndex(db: Db, collection: string, name: string, key: Record<string, 1>): Promise<void> {
  try {
    await db.collection(collection).createIndex(key, { name });
  } catch (err) {
    // The same keys under another name (built by hand or an earlier version) are the same index.
    if ((err as { code?: unknown }).code === 85) return;
    throw databaseError(err, `creating the ${collection} index ${name}`);
  }
}
