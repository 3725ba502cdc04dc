import { setTimeout as sleep } from 'node:timers/promises';
import type { Db, Document, WriteConcernSettings } from 'mongodb';
import type { Logger } from 'pino';
import { ROOM_STATS_COMPLETE } from '../importer/new-room-journal.js';
import { findByIds, pointQueriesOnly } from '../importer/point-queries.js';
import { markMigrationDone, MIGRATIONS_COLLECTION } from '../importer/stamp-backfill.js';
import { RECORD_COLLECTIONS } from './queries/types.js';
import { markRoomsDirty, refreshDirtyRooms, refreshRooms, roomIdsOf, ROOM_STAT_SOURCES, ROOM_STATS_COLLECTION } from './room-stats.js';

export const ROOM_STATS_MIGRATION = 'room-stats';
const ROOMS_PER_ROUND = 500;

export interface BackfillOptions {
  signal?: AbortSignal;
  now?: () => Date;
  /** The process's record-write mutex (imports hold it while they write). */
  recordWrites?: { run<T>(fn: () => Promise<T>): Promise<T> };
}

/**
 * One-time: statistics for every room of a database that was filled before they existed (portal/room-stats.ts).
 * Walks history.rooms by `_id` in rounds of 500: marks the round's rooms, recomputes them (the same protocol as
 * the importer's, so an import running meanwhile is never overwritten with an older count). Until a room has its
 * statistics the portal computes them live, so lists are right while it runs, only slower. Then writes the marker
 * in proxy.migrations. Idempotent; every start also recomputes the rooms a crash left marked.
 * Returns the rooms recomputed.
 */
export async function backfillRoomStats(db: Db, writeConcern: WriteConcernSettings, opts: BackfillOptions = {}): Promise<number> {
  const marks = db.collection<{ _id: string; at: Date; rooms?: number }>(MIGRATIONS_COLLECTION);
  const refreshOpts = { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.now ? { now: opts.now } : {}) };
  // Each round under the process's record-write mutex: never beside an import, whose room statistics rest on record
  // writers taking turns (importer/room-increments.ts); a room this creates while an import treats it as new would
  // otherwise keep counts without that import's records if the import then crashed.
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => (opts.recordWrites ? opts.recordWrites.run(fn) : fn());
  let rooms = await exclusive(() => refreshDirtyRooms(db, writeConcern, refreshOpts));
  if (await marks.findOne({ _id: ROOM_STATS_MIGRATION })) return rooms;
  const col = db.collection(RECORD_COLLECTIONS.rooms);
  let after: unknown;
  for (;;) {
    opts.signal?.throwIfAborted();
    const filter: Document = after === undefined ? {} : { _id: { $gt: after } };
    const docs = await col.find(filter, { projection: { _id: 1, roomId: 1 } }).sort({ _id: 1 }).limit(ROOMS_PER_ROUND).toArray();
    if (docs.length === 0) break;
    const ids = roomIdsOf(docs);
    rooms += await exclusive(async () => {
      await markRoomsDirty(db, ids, writeConcern);
      return refreshRooms(db, ids, writeConcern, opts.now);
    });
    after = docs[docs.length - 1]?._id;
  }
  await markMigrationDone(db, ROOM_STATS_MIGRATION, { rooms }, writeConcern);
  return rooms;
}

/** Room ids looked up per round of completeRoomStats; how many it remembers as having statistics (then forgets all). */
const CHECK_BATCH = 500;
const SEEN_CAP = 100_000;

/**
 * One-time, for a database an older version filled: every room that has stored messages or calls but no statistics
 * document is marked (which creates its document: readers count a marked room live, the next import's
 * refreshDirtyRooms recomputes it); then the marker ROOM_STATS_COMPLETE lets imports count new rooms from their own
 * inserts (importer/new-room-journal.ts). Reads the room ids of every message and call once (streamed; on FerretDB a
 * read of both collections), looks up the ids it has not seen lately (a bounded set) in rounds of 500, and marks the
 * missing ones. Marking is safe beside any writer (a room marked that needed none costs only its recomputation), and
 * this version's imports journal a new room before its first record, so nothing they write slips past; so the marks
 * do not wait for the record-write mutex, and the cursor is never left idle behind an import. Returns the rooms marked.
 */
export async function completeRoomStats(db: Db, writeConcern: WriteConcernSettings, opts: BackfillOptions = {}): Promise<number> {
  const marks = db.collection<{ _id: string; at: Date; rooms?: number }>(MIGRATIONS_COLLECTION);
  if (await marks.findOne({ _id: ROOM_STATS_COMPLETE })) return 0;
  const stats = db.collection(ROOM_STATS_COLLECTION);
  const pointOnly = await pointQueriesOnly(db);
  const seen = new Set<string>();
  let pending = new Set<string>();
  let marked = 0;
  const check = async (): Promise<void> => {
    const ids = [...pending];
    pending = new Set();
    const have = new Set((await findByIds(stats, ids, { projection: { _id: 1 } }, pointOnly)).map((d) => String(d._id)));
    const missing = ids.filter((id) => !have.has(id));
    if (missing.length > 0) await markRoomsDirty(db, missing, writeConcern);
    marked += missing.length;
    if (seen.size + ids.length > SEEN_CAP) seen.clear();
    for (const id of ids) seen.add(id);
  };
  for (const src of ROOM_STAT_SOURCES) {
    const cursor = db.collection(src.collection).find({}, { projection: { _id: 0, roomId: 1 } }).batchSize(1000);
    try {
      for await (const d of cursor) {
        opts.signal?.throwIfAborted();
        const id: unknown = d.roomId;
        if (typeof id !== 'string' || id === '' || seen.has(id)) continue;
        pending.add(id);
        if (pending.size >= CHECK_BATCH) await check();
      }
    } finally {
      await cursor.close();
    }
  }
  if (pending.size > 0) await check();
  await markMigrationDone(db, ROOM_STATS_COMPLETE, { rooms: marked }, writeConcern);
  return marked;
}

/**
 * Runs backfillRoomStats, then completeRoomStats, in the background after start (never blocking it), on the HA leader only (waits, polling,
 * while this node follows), after the record indexes it reads by are built. stop() aborts it between rounds.
 */
export class RoomStatsBackfill {
  private readonly abort = new AbortController();
  private running: Promise<void> = Promise.resolve();
  private started = false;

  start(opts: { db: Db; writeConcern: WriteConcernSettings; log: Logger; isLeader: () => boolean; after?: Promise<void>; pollMs?: number; recordWrites?: BackfillOptions['recordWrites'] }): void {
    if (this.started) return;
    this.started = true;
    const signal = this.abort.signal;
    this.running = (async () => {
      await opts.after;
      while (!opts.isLeader()) await sleep(opts.pollMs ?? 10_000, undefined, { signal });
      const backfillOpts = { signal, ...(opts.recordWrites ? { recordWrites: opts.recordWrites } : {}) };
      const rooms = await backfillRoomStats(opts.db, opts.writeConcern, backfillOpts);
      if (rooms > 0) opts.log.info({ rooms }, 'room statistics computed for rooms stored before they existed (or left marked)');
      const missing = await completeRoomStats(opts.db, opts.writeConcern, backfillOpts);
      if (missing > 0) opts.log.info({ rooms: missing }, 'rooms that had records but no statistics marked (left by an interrupted import of an older version): the next import recomputes them, the Room report counts them live meanwhile');
    })().catch((err: unknown) => {
      if (signal.aborted) return;
      opts.log.error({ err }, 'room statistics backfill failed (retried at the next start; the Room report counts those rooms live meanwhile)');
    });
  }

  stop(): void {
    this.abort.abort();
  }

  settled(): Promise<void> {
    return this.running;
  }
}
