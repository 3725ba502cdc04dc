import { ObjectId, type AnyBulkWriteOperation, type Db, type Document, type WriteConcernSettings } from 'mongodb';
import { RECORD_COLLECTIONS } from './queries/types.js';
import { isVisible } from './queries/visible.js';
import { ensureIndexes } from '../db/ensure-indexes.js';

/**
 * Room statistics kept up to date by the writers instead of computed per request (issue 12 item 7): one document per
 * room id, `{ _id: roomId, messageCount, callCount, firstActivityAt, lastActivityAt, computedAt }`, counting only
 * what an auditor may see (records without `_archived`, the visible() rule).
 *
 * Protocol (idempotent, safe against crashes and against writers racing each other):
 * 1. a writer that is about to change a room's messages or calls first marks the room `dirty` with a fresh token
 *    (markRoomsDirty), majority; retention also sets `live`: until the room is recomputed, readers count it live;
 * 2. it writes the records;
 * 3. it recomputes the room (refreshRooms / refreshDirtyRooms) and stores the result ONLY IF the token is still the
 *    one it read, clearing `dirty` and `live` in the same single-document update. A writer that marked the room
 *    again meanwhile has its own refresh to come, so a stale computation is never stored over a newer one.
 * A crash between 1 and 3 leaves the mark: the next import or the next start recomputes every dirty room.
 */
export const ROOM_STATS_COLLECTION = 'portal.room_stats';

export interface RoomActivity { messageCount: number; callCount: number; firstActivityAt?: Date; lastActivityAt?: Date }

export interface RoomStatsDoc {
  _id: string;
  messageCount?: number;
  callCount?: number;
  firstActivityAt?: Date | null;
  lastActivityAt?: Date | null;
  computedAt?: Date;
  /** Set before a write that changes the room's records; cleared by the recomputation that saw this token. */
  dirty?: ObjectId;
  /** The stored counts may include records retention archived or destroyed: readers compute the room live. */
  live?: boolean;
}

/** The collections whose records the statistics count, the date each one's activity runs on, and its counter. */
export const ROOM_STAT_SOURCES = [
  { collection: RECORD_COLLECTIONS.messages, dateField: 'sentAt', counter: 'messageCount' },
  { collection: RECORD_COLLECTIONS.calls, dateField: 'startedAt', counter: 'callCount' },
] as const;

/** Collections whose writes change a room's statistics (rooms: a new room gets its (zero) statistics at import). */
export const ROOM_STAT_COLLECTIONS: ReadonlySet<string> = new Set([RECORD_COLLECTIONS.rooms, ...ROOM_STAT_SOURCES.map((s) => s.collection)]);

/** FerretDB 1.24 hangs on update commands with ~100 matching statements (see upsert-batch.ts). */
const MAX_UPDATES_PER_COMMAND = 50;
/** Rooms recomputed at once. */
const PARALLEL = 4;
/** Rooms read per refresh round. */
const REFRESH_BATCH = 100;

/** The distinct string room ids of `docs` (field `roomId`). */
export function roomIdsOf(docs: readonly Document[]): string[] {
  const ids = new Set<string>();
  for (const d of docs) if (typeof d.roomId === 'string' && d.roomId !== '') ids.add(d.roomId);
  return [...ids];
}

/** Step 1: marks the rooms as about to change (upsert), `live` too for retention's archive/destroy/restore. */
export async function markRoomsDirty(db: Db, roomIds: readonly string[], writeConcern: WriteConcernSettings, opts: { live?: boolean } = {}): Promise<void> {
  const col = db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
  for (let i = 0; i < roomIds.length; i += MAX_UPDATES_PER_COMMAND) {
    const ops: AnyBulkWriteOperation<RoomStatsDoc>[] = roomIds.slice(i, i + MAX_UPDATES_PER_COMMAND).map((id) => ({
      updateOne: { filter: { _id: id }, update: { $set: { dirty: new ObjectId(), ...(opts.live ? { live: true } : {}) } }, upsert: true },
    }));
    await col.bulkWrite(ops, { ordered: false, writeConcern });
  }
}

/**
 * One room's statistics from its records: one indexed equality query per source collection (`roomId`, which
 * FerretDB pushes down to SQLite), streamed, counting in the process what is visible. No $group/$min/$max (FerretDB
 * 1.24 lacks them), the same result on MongoDB.
 */
export async function computeRoomActivity(db: Db, roomId: string, maxTimeMS?: number): Promise<RoomActivity> {
  const out: RoomActivity = { messageCount: 0, callCount: 0 };
  for (const src of ROOM_STAT_SOURCES) {
    const cursor = db.collection(src.collection).find({ roomId }, { projection: { _id: 0, [src.dateField]: 1, _archived: 1 }, ...(maxTimeMS ? { maxTimeMS } : {}) }).batchSize(1000);
    let n = 0;
    for await (const d of cursor) {
      if (!isVisible(d)) continue;
      n++;
      const at: unknown = d[src.dateField];
      if (!(at instanceof Date)) continue;
      if (!out.firstActivityAt || at < out.firstActivityAt) out.firstActivityAt = at;
      if (!out.lastActivityAt || at > out.lastActivityAt) out.lastActivityAt = at;
    }
    out[src.counter] = n;
  }
  return out;
}

/** Runs `fn` over `items`, at most `parallel` at a time. */
async function eachLimited<T>(items: readonly T[], parallel: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}

/** Step 3 for these rooms (those marked): recompute and store where the mark is still the one read. */
export async function refreshRooms(db: Db, roomIds: readonly string[], writeConcern: WriteConcernSettings, now: () => Date = () => new Date()): Promise<number> {
  const col = db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
  let stored = 0;
  for (let i = 0; i < roomIds.length; i += REFRESH_BATCH) {
    const marks = await col.find({ _id: { $in: roomIds.slice(i, i + REFRESH_BATCH) } }, { projection: { dirty: 1 } }).toArray();
    stored += await refreshMarked(db, marks, writeConcern, now);
  }
  return stored;
}

async function refreshMarked(db: Db, marks: readonly Pick<RoomStatsDoc, '_id' | 'dirty'>[], writeConcern: WriteConcernSettings, now: () => Date): Promise<number> {
  const col = db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
  let stored = 0;
  await eachLimited(marks.filter((m) => m.dirty !== undefined), PARALLEL, async (m) => {
    const a = await computeRoomActivity(db, m._id);
    const r = await col.updateOne(
      { _id: m._id, dirty: m.dirty },
      { $set: { messageCount: a.messageCount, callCount: a.callCount, firstActivityAt: a.firstActivityAt ?? null, lastActivityAt: a.lastActivityAt ?? null, computedAt: now() }, $unset: { dirty: '', live: '' } },
      { writeConcern },
    );
    stored += r.modifiedCount;
  });
  return stored;
}

/** Step 3 for every room still marked (this import's, and any a crash left), in bounded rounds. */
export async function refreshDirtyRooms(db: Db, writeConcern: WriteConcernSettings, opts: { signal?: AbortSignal; now?: () => Date } = {}): Promise<number> {
  const col = db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
  let after: string | undefined;
  let stored = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    const filter = after === undefined ? { dirty: { $exists: true } } : { dirty: { $exists: true }, _id: { $gt: after } };
    const marks = await col.find(filter, { projection: { dirty: 1 } }).sort({ _id: 1 }).limit(REFRESH_BATCH).toArray();
    if (marks.length === 0) return stored;
    stored += await refreshMarked(db, marks, writeConcern, opts.now ?? (() => new Date()));
    after = marks[marks.length - 1]?._id;
  }
}

/**
 * The statistics the portal shows for these rooms: stored ones where they are complete and exact; computed live
 * for rooms without them (before the one-time backfill reached them) or marked `live` (retention changed them a
 * moment ago). Rooms with no record at all get zeros.
 */
export async function readRoomActivity(db: Db, roomIds: readonly string[], maxTimeMS: number): Promise<Map<string, RoomActivity>> {
  const out = new Map<string, RoomActivity>();
  if (roomIds.length === 0) return out;
  const docs = await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).find({ _id: { $in: [...roomIds] } }, { maxTimeMS }).toArray();
  const byId = new Map(docs.map((d) => [d._id, d]));
  const live: string[] = [];
  for (const id of roomIds) {
    const d = byId.get(id);
    if (!d || d.live === true || typeof d.messageCount !== 'number' || typeof d.callCount !== 'number') {
      live.push(id);
      continue;
    }
    out.set(id, {
      messageCount: d.messageCount, callCount: d.callCount,
      ...(d.firstActivityAt instanceof Date ? { firstActivityAt: d.firstActivityAt } : {}),
      ...(d.lastActivityAt instanceof Date ? { lastActivityAt: d.lastActivityAt } : {}),
    });
  }
  await eachLimited(live, PARALLEL, async (id) => {
    out.set(id, await computeRoomActivity(db, id, maxTimeMS));
  });
  return out;
}

/** The refresh rounds find marked rooms by `dirty` (sparse: only marked rooms are in it). */
export async function ensureRoomStatsIndexes(db: Db): Promise<void> {
  await ensureIndexes(db.collection(ROOM_STATS_COLLECTION), [{ name: 'dirty', key: { dirty: 1 }, options: { sparse: true } }]);
}
