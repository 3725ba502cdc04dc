import type { Db, Document, WriteConcernSettings } from 'mongodb';
import type { Logger } from 'pino';
import { ProxyError } from '../errors.js';
import { BulkWritePipeline } from './bulk-write-pipeline.js';
import type { DispositionFilter } from './disposition-filter.js';
import { FileDigest } from './file-digest.js';
import type { ArchiveCallTimes } from './plan-call-times.js';
import { checkDigest, entryFile, type PlannedRecordFile } from './plan.js';
import { parseRecord, stampRecord } from './record-document.js';
import { readRecordTexts } from './record-reader.js';
import { ROOM_STAT_COLLECTIONS } from '../portal/room-stats.js';
import { ImportRoomMarks } from './import-room-marks.js';
import type { ImportIdentityKeys } from './identity-keys.js';
import { combineHooks } from './upsert-batch.js';

export interface RecordWriteOptions {
  batchSize: number;
  maxInFlight: number;
  writeConcern: WriteConcernSettings;
  log: Logger;
  signal?: AbortSignal;
  /** Called after each acknowledged batch with the number of records it held. */
  onBatch: (records: number) => void;
  /** Retention: drops tombstoned records and keeps archive marks (docs/retention.md). */
  filter?: DispositionFilter;
  /** The archive's creation time (from its name). */
  archiveCreatedAt?: Date;
  /** The plan's call start times: voicemails and recordings get `_retention.callAt` in their insert. */
  callTimes?: ArchiveCallTimes;
  /** Collects the business ids the identity refresh must look at (identity-keys.ts). */
  identities?: ImportIdentityKeys;
}

/**
 * Phase two for record files: re-reads each planned file, stamps every record with `_retention` and upserts it by
 * `_id` (replaceOne, upsert, unordered bulkWrite), keeping writes in flight while the next batch is parsed.
 * Returns the number of records read per collection (records destroyed by retention are read but not written:
 * `opts.filter.skipped` counts them).
 */
export async function writeRecordFiles(
  db: Db,
  dir: string,
  files: readonly PlannedRecordFile[],
  job: { jobId: string; archive: string },
  opts: RecordWriteOptions,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  // Room statistics (portal/room-stats.ts, import-room-marks.ts): the rooms a batch adds to, and those a replaced
  // record leaves, are marked before the write (a room without statistics yet is only noted), each once per import;
  // after the last batch a marked room to which this import only inserted records gets old + inserted, the other
  // marked ones are marked again (applyImport refreshes them), and the new ones are computed and inserted.
  const rooms = await ImportRoomMarks.open(db, opts.writeConcern);
  const markRooms = rooms.before;
  const pipeline = new BulkWritePipeline(db, opts.writeConcern, opts.maxInFlight, (_collection, n) => opts.onBatch(n), (c) => combineHooks(rooms.hooksFor(c), opts.identities?.hooksFor(c)));
  try {
    for (const file of files) {
      opts.signal?.throwIfAborted();
      const written = await writeOneFile(pipeline, dir, file, job, opts, ROOM_STAT_COLLECTIONS.has(file.collection) ? markRooms : undefined);
      counts[file.collection] = (counts[file.collection] ?? 0) + written;
      opts.log.debug({ entry: file.path, collection: file.collection, records: written }, 'record file queued');
    }
    await pipeline.drain();
    const { markedMs, newMs, journalLeft, ...ways } = await rooms.finish();
    if (journalLeft !== undefined) opts.log.warn({ err: journalLeft }, 'room statistics stored, but clearing this import\'s new rooms journal failed: the next import recomputes those rooms');
    // Parts of the records step (applyImport): on FerretDB the new rooms' share grows with the database (one scan).
    opts.log.debug({ step: 'records: rooms with statistics', ms: markedMs, rooms: ways }, 'import step done');
    opts.log.debug({ step: 'records: new rooms', ms: newMs, rooms: ways.new }, 'import step done');
  } catch (err) {
    try {
      await pipeline.settle();
    } finally {
      rooms.release();
    }
    throw err;
  }
  return counts;
}

async function writeOneFile(
  pipeline: BulkWritePipeline,
  dir: string,
  file: PlannedRecordFile,
  job: { jobId: string; archive: string },
  opts: RecordWriteOptions,
  beforeWrite?: (docs: readonly Document[]) => Promise<void>,
): Promise<number> {
  const digest = new FileDigest({ sha256: false });
  let batch: Document[] = [];
  let count = 0;
  const filter = opts.filter;
  const submit = async (docs: Document[]): Promise<void> => {
    const kept = filter ? await filter.records(file.collection, docs, opts.archiveCreatedAt) : docs;
    if (kept.length === 0) return;
    // After the filter: a call it drops (destroyed by retention) must not give its start to a file either.
    await opts.callTimes?.stamp(file.collection, kept, filter ? (c, ids) => filter.destroyed(c, ids) : undefined);
    await beforeWrite?.(kept);
    await pipeline.submit(file.collection, kept);
  };
  for await (const chunk of readRecordTexts(entryFile(dir, file.path), file.path, digest, opts.signal)) {
    for (const r of chunk.records) {
      const doc = stampRecord(parseRecord(r.text, file.path, chunk.kind, r.n), job, file.path);
      batch.push(doc);
      if (batch.length >= opts.batchSize) {
        count += batch.length;
        await submit(batch);
        batch = [];
      }
    }
  }
  if (batch.length > 0) {
    count += batch.length;
    await submit(batch);
  }
  checkDigest(file, digest);
  if (count !== file.records) {
    throw new ProxyError('STAGING_FILE_CHANGED', `${file.path}: ${count} records now, ${file.records} when planned`, {
      details: { path: file.path },
    });
  }
  return count;
}
