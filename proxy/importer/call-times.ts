import type { AnyBulkWriteOperation, Db, Document, WriteConcernSettings } from 'mongodb';
import type { Logger } from 'pino';
import { dbCall, majority } from '../db/write-concern.js';
import { findIn, lookupBatchSize, pointQueriesOnly } from './point-queries.js';
import { RETENTION_FIELD } from './record-document.js';
import { markMigrationDone, MIGRATIONS_COLLECTION } from './stamp-backfill.js';

const FILES = 'file-management.files';
const CALLS = 'history.calls';
const CONFERENCES = 'history.conference-calls';
/** The file categories that belong to a call or a conference. */
export const CALL_MEDIA_CATEGORIES = ['voicemail', 'call-recording', 'conference-recording'] as const;
/**
 * `_retention.callAt` on a voicemail or recording's file record: the `startedAt` of its call or conference (the time
 * its row shows), so the portal sorts and pages those lists by it with one indexed query. A file whose call or
 * conference is not stored gets its own `uploadedAt`. Inside `_retention`: not part of the record hash.
 */
export const CALL_AT_FIELD = `${RETENTION_FIELD}.callAt`;
const BATCH = 100;
/** FerretDB 1.24 hangs on update commands with many matching statements (upsert-batch.ts). */
const MAX_UPDATES_PER_COMMAND = 50;
const MIGRATION_ID = 'call-times';

/** Stamps one batch of file records (fileId, callId?, conferenceId?, uploadedAt) with the time of their call. */
async function stampBatch(db: Db, files: Document[], writeConcern: WriteConcernSettings): Promise<number> {
  if (files.length === 0) return 0;
  const callIds = files.map((f): unknown => f.callId).filter((x): x is string => typeof x === 'string');
  const confIds = files.map((f): unknown => f.conferenceId).filter((x): x is string => typeof x === 'string');
  const scan = await pointQueriesOnly(db);
  const all = async (it: AsyncIterable<Document>): Promise<Document[]> => {
    const out: Document[] = [];
    for await (const d of it) out.push(d);
    return out;
  };
  const [calls, confs] = await Promise.all([
    all(findIn(db.collection(CALLS), 'callId', callIds, {}, { projection: { _id: 0, callId: 1, startedAt: 1 } }, scan)),
    all(findIn(db.collection(CONFERENCES), 'conferenceId', confIds, {}, { projection: { _id: 0, conferenceId: 1, startedAt: 1 } }, scan)),
  ]);
  const callAt = new Map(calls.map((c) => [String(c.callId), c.startedAt as unknown]));
  const confAt = new Map(confs.map((c) => [String(c.conferenceId), c.startedAt as unknown]));
  const ops: AnyBulkWriteOperation[] = [];
  for (const f of files) {
    const at = (typeof f.callId === 'string' ? callAt.get(f.callId) : undefined) ?? (typeof f.conferenceId === 'string' ? confAt.get(f.conferenceId) : undefined) ?? (f.uploadedAt as unknown);
    if (at instanceof Date) ops.push({ updateOne: { filter: { _id: f._id as never }, update: { $set: { [CALL_AT_FIELD]: at } } } });
  }
  let written = 0;
  for (let i = 0; i < ops.length; i += MAX_UPDATES_PER_COMMAND) {
    written += (await db.collection(FILES).bulkWrite(ops.slice(i, i + MAX_UPDATES_PER_COMMAND), { ordered: false, writeConcern })).modifiedCount;
  }
  return written;
}

/** Stamps every voicemail and recording file record matching `filter` that has no call time yet, in batches. */
export async function stampCallTimes(db: Db, filter: Document, writeConcern: WriteConcernSettings, signal?: AbortSignal): Promise<number> {
  // On FerretDB each `callId: {$in}` look-up reads all of history.calls: files go in a few large batches there.
  const size = await lookupBatchSize(db, BATCH);
  const cursor = db
    .collection(FILES)
    .find({ ...filter, category: { $in: [...CALL_MEDIA_CATEGORIES] }, [CALL_AT_FIELD]: { $exists: false } }, { projection: { _id: 1, callId: 1, conferenceId: 1, uploadedAt: 1 } })
    .batchSize(Math.min(size, 1000));
  let batch: Document[] = [];
  let written = 0;
  try {
    for await (const f of cursor) {
      signal?.throwIfAborted();
      batch.push(f);
      if (batch.length >= size) {
        written += await stampBatch(db, batch, writeConcern);
        batch = [];
      }
    }
  } finally {
    await cursor.close();
  }
  return written + (await stampBatch(db, batch, writeConcern));
}

/** Databases imported before `_retention.callAt` existed: stamped once, in the background (proxy.migrations). */
export async function backfillCallTimes(db: Db, wtimeoutMs: number, log: Logger, signal?: AbortSignal): Promise<number> {
  const marks = db.collection<{ _id: string; at: Date; written: number }>(MIGRATIONS_COLLECTION);
  if (await dbCall('reading proxy.migrations', () => marks.findOne({ _id: MIGRATION_ID }))) return 0;
  const writeConcern = majority(wtimeoutMs);
  const written = await dbCall('stamping call times of voicemails and recordings', () => stampCallTimes(db, {}, writeConcern, signal));
  await dbCall('writing proxy.migrations', () => markMigrationDone(db, MIGRATION_ID, { written }, writeConcern));
  if (written > 0) log.info({ written }, 'voicemails and recordings now carry the time of their call');
  return written;
}
