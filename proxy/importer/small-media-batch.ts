import { readFile } from 'node:fs/promises';
import { Binary, type Db, type Document, type WriteConcernSettings } from 'mongodb';
import type { Logger } from 'pino';
import { fenceGuard, throwIfFenced } from '../ha/fence.js';
import type { Fence } from '../ha/lease.js';
import { MEDIA_BUCKET, MEDIA_UPLOADS } from './entry-mapping.js';
import { FileDigest } from './file-digest.js';
import { findByIds, pointQueriesOnly } from './point-queries.js';
import { CHUNK_SIZE } from './gridfs-upload.js';
import { checkDigest, entryFile, type PlannedFile } from './plan.js';

/**
 * Small files stored together at most (each is one GridFS chunk at most). The bytes held stay bounded by
 * SMALL_BATCH_BYTES whatever this is. 256 rather than 64: the `diy` day's 1 675 small files took 1.8 s instead of
 * 2.1-2.3 s on FerretDB (fewer commands of each kind; 2026-12-03, bench/diy-profile.ts --import).
 */
export const SMALL_BATCH_FILES = 256;
/** Bytes of small files held in memory at once. */
export const SMALL_BATCH_BYTES = 4 * 1024 * 1024;

/** Whether an entry can go into a batch: one chunk at most. */
export const isSmall = (entry: PlannedFile): boolean => entry.size <= CHUNK_SIZE;

export interface SmallBatchContext {
  db: Db;
  dir: string;
  job: { jobId: string; archive: string };
  writeConcern: WriteConcernSettings;
  fence?: Fence;
  log: Logger;
  /** Makes sure the GridFS indexes exist before the first chunk. */
  ensureIndexes: () => Promise<void>;
  metadata: (entry: PlannedFile) => Document;
}

/**
 * Stores small binaries that are new to the database (no files document, no upload marker) with the same writes in
 * the same order per file as one upload (media-writer.ts): markers, chunks, files documents, markers removed; but
 * one write of each kind for the whole batch instead of four writes per file. A day holds hundreds of avatars, icons
 * and short recordings of a few KiB: stored one by one, the import was bound by round trips (bench group `diy`).
 *
 * Returns the entries it left alone (already stored, a marker present, or the markers could not all be written):
 * the caller stores those one by one, with the existing rules. What a crash leaves (markers, chunks without a files
 * document) is what a crash mid-upload leaves, and the next import cleans it up the same way.
 */
export async function storeSmallBatch(ctx: SmallBatchContext, batch: readonly PlannedFile[]): Promise<{ stored: PlannedFile[]; rest: PlannedFile[] }> {
  const files = ctx.db.collection<{ _id: string }>(`${MEDIA_BUCKET}.files`);
  const chunks = ctx.db.collection(`${MEDIA_BUCKET}.chunks`);
  const uploads = ctx.db.collection<{ _id: string; jobId: string; archive: string; startedAt: Date; fence?: number }>(`${MEDIA_BUCKET}.${MEDIA_UPLOADS}`);
  const ids = batch.map((e) => e.path);
  // media.files grows with every day imported: on FerretDB an `$in` look-up would read all of it (point-queries.ts).
  // media.uploads holds only the markers of uploads under way (or interrupted): one `$in` query stays cheap there.
  const [stored, marked] = await Promise.all([
    findByIds(files, ids, { projection: { _id: 1 } }, await pointQueriesOnly(ctx.db)),
    uploads.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray(),
  ]);
  const taken = new Set<string>([...stored, ...marked].map((d) => String(d._id)));
  const fresh = batch.filter((e) => !taken.has(e.path));
  const rest = batch.filter((e) => taken.has(e.path));
  if (fresh.length === 0) return { stored: [], rest };

  // LEASE_LOST here when this node knows it is no longer the leader.
  const guard = fenceGuard(ctx.fence);
  const startedAt = new Date();
  try {
    await uploads.insertMany(
      fresh.map((e) => ({ _id: e.path, jobId: ctx.job.jobId, archive: ctx.job.archive, startedAt, ...guard.set })),
      { ordered: false, writeConcern: ctx.writeConcern },
    );
  } catch {
    // A marker appeared meanwhile (another writer, a newer leader): every file of the batch goes the one-by-one way,
    // which judges each marker (ours included: then its chunk clean-up runs) and throws LEASE_LOST where fenced.
    return { stored: [], rest: batch.slice() };
  }
  await ctx.ensureIndexes();
  for (const e of fresh) ctx.log.debug({ entry: e.path, bytes: e.size, batch: fresh.length }, 'media upload started');
  const chunkDocs: Document[] = [];
  const fileDocs: Document[] = [];
  const uploadDate = new Date();
  for (const entry of fresh) {
    const data = entry.data ?? (await readFile(entryFile(ctx.dir, entry.path)));
    // The bytes must be the ones extraction wrote (size + CRC-32): a changed file never gets a files document.
    const digest = new FileDigest({ sha256: false });
    digest.update(data);
    checkDigest(entry, digest);
    if (data.length > 0) chunkDocs.push({ files_id: entry.path, n: 0, data: new Binary(data), ...guard.set });
    fileDocs.push({ _id: entry.path, length: data.length, chunkSize: CHUNK_SIZE, uploadDate, filename: entry.path, metadata: ctx.metadata(entry) });
  }
  if (chunkDocs.length > 0) await chunks.insertMany(chunkDocs, { ordered: true, writeConcern: ctx.writeConcern });
  await files.insertMany(fileDocs as { _id: string }[], { ordered: true, writeConcern: ctx.writeConcern });
  const done = await uploads.deleteMany({ _id: { $in: fresh.map((e) => e.path) }, ...guard.filter }, { writeConcern: ctx.writeConcern });
  if (done.deletedCount !== fresh.length) {
    for (const e of fresh) await throwIfFenced(uploads, e.path, guard);
  }
  return { stored: fresh, rest };
}
