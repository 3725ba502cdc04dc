import type { Collection, Db, Document, WriteConcernSettings } from 'mongodb';
import type { Logger } from 'pino';
import { parseArchiveName } from '../archive/archive-name.js';
import { databaseError } from '../db/connect.js';
import { ProxyError } from '../errors.js';
import { fenceGuard, throwIfFenced } from '../ha/fence.js';
import type { Fence } from '../ha/lease.js';
import { MEDIA_BUCKET, MEDIA_UPLOADS as UPLOADS, contentTypeFor } from './entry-mapping.js';
import { FileDigest } from './file-digest.js';
import { uploadGridFs, verifying } from './gridfs-upload.js';
import { checkDigest, entryFile, type PlannedFile } from './plan.js';
import { SMALL_BATCH_BYTES, SMALL_BATCH_FILES, isSmall, storeSmallBatch } from './small-media-batch.js';

const MAX_ROUNDS = 5;

/** `metadata` of a media.files document. */
export interface MediaMetadata {
  sha256: string;
  size: number;
  jobId: string;
  archive: string;
  contentType: string;
}

/** `media.uploads`: present for a path while its upload is under way (see writeMediaFiles). */
interface UploadMarker {
  _id: string;
  jobId: string;
  archive: string;
  startedAt: Date;
  /** HA: token of the leader that started the upload. */
  fence?: number;
}

export interface MediaWriteOptions {
  writeConcern: WriteConcernSettings;
  /**
   * HA: the leader's fence. Every write that deletes or overwrites data (a files document replaced, chunks cleaned
   * up, the upload marker) is conditioned on it in the database, and chunks carry the token, so a deposed leader that
   * wakes up mid-upload can neither delete nor overwrite what the new leader stored.
   */
  fence?: Fence;
  log: Logger;
  signal?: AbortSignal;
  onFile: () => void;
}

export interface MediaWriteResult {
  files: number;
  bytes: number;
  uploaded: number;
  skipped: number;
}

/**
 * Stores every binary entry in the GridFS bucket `media`: `_id` and filename = archive path. Idempotent: a file
 * already stored with the same sha256 is skipped; one with another sha256 is replaced, unless it came from a newer
 * archive. Chunks left without a files document by a crash mid-upload are deleted before uploading again (GridFS
 * writes the files document last, so a files document means a complete upload).
 *
 * Only an interrupted upload can leave such chunks, so every upload is bracketed by a marker in `media.uploads`
 * (written before the first chunk, removed after the files document): the chunk clean-up runs only when a marker or
 * an older version of the file says there may be chunks. A `deleteMany({files_id})` before every upload would be
 * an indexed no-op on MongoDB, but FerretDB answers it with a scan of every stored chunk (quadratic import time).
 */
export async function writeMediaFiles(
  db: Db,
  dir: string,
  binaries: readonly PlannedFile[],
  job: { jobId: string; archive: string },
  opts: MediaWriteOptions,
): Promise<MediaWriteResult> {
  // Our media ids are archive paths (strings), not ObjectIds.
  const filesColl = db.collection<{ _id: string; metadata?: Partial<MediaMetadata> }>(`${MEDIA_BUCKET}.files`);
  const chunksColl = db.collection<{ files_id: string; fence?: number }>(`${MEDIA_BUCKET}.chunks`);
  let indexed: Promise<void> | undefined;
  const ensureIndexes = (): Promise<void> => (indexed ??= (async () => {
    await chunksColl.createIndex({ files_id: 1, n: 1 }, { unique: true, name: 'files_id_1_n_1' });
    await filesColl.createIndex({ filename: 1, uploadDate: 1 }, { name: 'filename_1_uploadDate_1' });
  })());
  const uploads = db.collection<UploadMarker>(`${MEDIA_BUCKET}.${UPLOADS}`);
  const result: MediaWriteResult = { files: 0, bytes: 0, uploaded: 0, skipped: 0 };

  /**
   * Decides on the stored version and acts on it. The files document is deleted only if it is still the one judged
   * (compare-and-delete in one write); if it changed meanwhile (another writer stored a newer one), decide again.
   */
  const storeOne = async (entry: PlannedFile): Promise<'uploaded' | 'skipped'> => {
    for (let round = 1; ; round++) {
      const existing = await filesColl.findOne({ _id: entry.path }, { projection: { metadata: 1 } });
      const existingMeta = existing?.metadata;
      if (existing && existingMeta?.sha256 === entry.sha256.toLowerCase()) return 'skipped';
      if (existing && isFromNewerArchive(existingMeta?.archive, job.archive)) {
        opts.log.info({ entry: entry.path, storedFrom: existingMeta?.archive }, 'media file kept: the stored one comes from a newer archive');
        return 'skipped';
      }
      // LEASE_LOST here when this node knows it is no longer the leader; the filters below catch the rest.
      const guard = fenceGuard(opts.fence);
      if (existing) {
        // Files document first: a crash in between leaves orphan chunks, which the clean-up below removes on any run.
        const judged = { _id: entry.path, 'metadata.sha256': existingMeta?.sha256 ?? { $exists: false }, 'metadata.archive': existingMeta?.archive ?? { $exists: false } };
        const del = await filesColl.deleteOne(judged, { writeConcern: opts.writeConcern });
        if (del.deletedCount !== 1) {
          if (round >= MAX_ROUNDS) throw new ProxyError('DB_WRITE_REJECTED', `${entry.path}: the stored file kept changing under this import`, { details: { path: entry.path } });
          continue;
        }
        opts.log.info({ entry: entry.path, storedFrom: existingMeta?.archive }, 'media file replaced by this archive');
      }
      // The marker is fenced: a newer leader's marker is never taken over (the upsert then fails on _id).
      const interrupted = await uploads
        .findOneAndUpdate(
          { _id: entry.path, ...guard.filter },
          { $set: { jobId: job.jobId, archive: job.archive, startedAt: new Date(), ...guard.set } },
          { upsert: true, writeConcern: opts.writeConcern },
        )
        .catch(async (err: unknown) => {
          await throwIfFenced(uploads, entry.path, guard);
          throw err;
        });
      // Only chunks written by this leader or an older one (or before HA): a newer leader's are never deleted.
      if (existing || interrupted) await chunksColl.deleteMany({ files_id: entry.path, ...guard.filter }, { writeConcern: opts.writeConcern });
      await ensureIndexes();
      opts.log.debug({ entry: entry.path, bytes: entry.size }, 'media upload started');
      await upload(chunksColl as unknown as Collection, filesColl as unknown as Collection, dir, entry, job, guard.set, opts);
      const done = await uploads.deleteOne({ _id: entry.path, ...guard.filter }, { writeConcern: opts.writeConcern });
      if (done.deletedCount === 0) await throwIfFenced(uploads, entry.path, guard);
      return 'uploaded';
    }
  };

  const counted = (entry: PlannedFile, outcome: 'uploaded' | 'skipped'): void => {
    if (outcome === 'uploaded') result.uploaded++;
    else result.skipped++;
    result.files++;
    result.bytes += entry.size;
    opts.onFile();
  };
  const one = async (entry: PlannedFile): Promise<void> => {
    opts.signal?.throwIfAborted();
    try {
      counted(entry, await storeOne(entry));
    } catch (err) {
      throw databaseError(err, `storing ${entry.path} in GridFS`);
    }
  };
  const batchCtx = {
    db, dir, job, writeConcern: opts.writeConcern, log: opts.log,
    ...(opts.fence ? { fence: opts.fence } : {}), ensureIndexes, metadata: (e: PlannedFile): Document => mediaMetadata(e, job),
  };
  for (let i = 0; i < binaries.length; ) {
    // Consecutive small files go in batches (small-media-batch.ts); the rest, and whatever a batch leaves, one by one.
    const batch: PlannedFile[] = [];
    let bytes = 0;
    for (let e = binaries[i]; e !== undefined && isSmall(e) && batch.length < SMALL_BATCH_FILES && bytes + e.size <= SMALL_BATCH_BYTES; e = binaries[++i]) {
      batch.push(e);
      bytes += e.size;
    }
    if (batch.length < 2) {
      const entry = batch[0] ?? binaries[i++];
      if (entry) await one(entry);
      continue;
    }
    opts.signal?.throwIfAborted();
    let outcome: { stored: PlannedFile[]; rest: PlannedFile[] };
    try {
      outcome = await storeSmallBatch(batchCtx, batch);
    } catch (err) {
      throw databaseError(err, `storing ${batch.length} files in GridFS (${batch[0]?.path ?? ''} ...)`);
    }
    for (const entry of outcome.stored) counted(entry, 'uploaded');
    for (const entry of outcome.rest) await one(entry);
  }
  return result;
}

async function upload(
  chunks: Collection,
  files: Collection,
  dir: string,
  entry: PlannedFile,
  job: { jobId: string; archive: string },
  chunkFields: Document,
  opts: MediaWriteOptions,
): Promise<void> {
  const metadata = mediaMetadata(entry, job);
  const digest = new FileDigest({ sha256: false });
  // Checks the bytes against extraction's size and CRC-32 before the end reaches GridFS, so a changed file never gets a
  // files doc (its SHA-256, in the metadata, is the one the import plan computed from the same staged file).
  await uploadGridFs(chunks, files, {
    id: entry.path,
    path: entryFile(dir, entry.path),
    ...(entry.data !== undefined ? { data: entry.data } : {}),
    metadata: { ...metadata },
    chunkFields,
    verify: verifying((chunk) => digest.update(chunk), () => checkDigest(entry, digest)),
    writeConcern: opts.writeConcern,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

function mediaMetadata(entry: PlannedFile, job: { jobId: string; archive: string }): MediaMetadata {
  return { sha256: entry.sha256.toLowerCase(), size: entry.size, jobId: job.jobId, archive: job.archive, contentType: contentTypeFor(entry.path) };
}

/**
 * True when `stored` names an archive created after `current` (both must follow the archive naming rule); for two
 * archives of the same time, the one whose name sorts last (the rule records follow too, see upsert-batch.ts).
 */
function isFromNewerArchive(stored: string | undefined, current: string): boolean {
  if (stored === undefined) return false;
  const a = parseArchiveName(stored);
  const b = parseArchiveName(current);
  if (a === undefined || b === undefined) return false;
  const diff = a.createdAt.getTime() - b.createdAt.getTime();
  return diff > 0 || (diff === 0 && stored > current);
}
