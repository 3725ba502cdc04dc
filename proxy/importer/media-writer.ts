import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GridFSBucket, type Db, type ObjectId, type WriteConcernSettings } from 'mongodb';
import type { Logger } from 'pino';
import { parseArchiveName } from '../archive/archive-name.js';
import { databaseError } from '../db/connect.js';
import { ProxyError } from '../errors.js';
import { MEDIA_BUCKET, MEDIA_UPLOADS as UPLOADS, contentTypeFor } from './entry-mapping.js';
import { FileDigest } from './file-digest.js';
import { checkDigest, entryFile, type PlannedFile } from './plan.js';

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
}

export interface MediaWriteOptions {
  writeConcern: WriteConcernSettings;
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
  const bucket = new GridFSBucket(db, { bucketName: MEDIA_BUCKET, writeConcern: opts.writeConcern });
  // Our media ids are archive paths (strings), not ObjectIds.
  const filesColl = db.collection<{ _id: string; metadata?: Partial<MediaMetadata> }>(`${MEDIA_BUCKET}.files`);
  const chunksColl = db.collection<{ files_id: string }>(`${MEDIA_BUCKET}.chunks`);
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
      const interrupted = await uploads.findOneAndUpdate(
        { _id: entry.path },
        { $set: { jobId: job.jobId, archive: job.archive, startedAt: new Date() } },
        { upsert: true, writeConcern: opts.writeConcern },
      );
      if (existing || interrupted) await chunksColl.deleteMany({ files_id: entry.path }, { writeConcern: opts.writeConcern });
      await upload(bucket, dir, entry, job, opts.signal);
      await uploads.deleteOne({ _id: entry.path }, { writeConcern: opts.writeConcern });
      return 'uploaded';
    }
  };

  for (const entry of binaries) {
    opts.signal?.throwIfAborted();
    const what = `storing ${entry.path} in GridFS`;
    try {
      const outcome = await storeOne(entry);
      if (outcome === 'uploaded') result.uploaded++;
      else result.skipped++;
    } catch (err) {
      throw databaseError(err, what);
    }
    result.files++;
    result.bytes += entry.size;
    opts.onFile();
  }
  return result;
}

async function upload(bucket: GridFSBucket, dir: string, entry: PlannedFile, job: { jobId: string; archive: string }, signal?: AbortSignal): Promise<void> {
  const metadata: MediaMetadata = {
    sha256: entry.sha256.toLowerCase(),
    size: entry.size,
    jobId: job.jobId,
    archive: job.archive,
    contentType: contentTypeFor(entry.path),
  };
  const digest = new FileDigest({ sha256: false });
  // Checks the bytes against extraction's size and CRC-32 before the end reaches GridFS, so a changed file never gets a
  // files doc (its SHA-256, in the metadata, is the one the import plan computed from the same staged file).
  const verify = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      digest.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      try {
        checkDigest(entry, digest);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  // The driver types GridFS ids as ObjectId but stores any BSON value; ours is the archive path.
  const out = bucket.openUploadStreamWithId(entry.path as unknown as ObjectId, entry.path, { metadata });
  await pipeline(createReadStream(entryFile(dir, entry.path)), verify, out, ...(signal ? [{ signal }] : []));
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
