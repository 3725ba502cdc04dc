import { MongoBulkWriteError, ObjectId, type AnyBulkWriteOperation, type Db, type Document, type WriteConcernSettings } from 'mongodb';
import { RECORD_COLLECTIONS } from './queries/types.js';
import { isVisible } from './queries/visible.js';
import { ensureIndexes } from '../db/ensure-indexes.js';
import { findByIds, findIn, pointQueriesOnly } from '../importer/point-queries.js';

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
 * The importer skips 1 for a room that has no document yet (readers compute such a room live anyway) and inserts its
 * statistics after its last write; a document that appeared meanwhile sends that room through 1-3 (import-room-marks.ts).
 * Incremental step 3 (importer only, importer/room-increments.ts): its step 1 is one single-document update that also
 * returns the document as it was; if that held exact counts (no `dirty`, no `live`) and the import only inserted
 * records into the room (none replaced, none moved out), step 3 stores old + inserted instead of recomputing, under
 * the same condition (its token still there). Since every writer marks before writing, the token still being ours
 * means nobody else changed the room's records, so old + inserted is exactly what a recomputation would find; in any
 * other case the room is marked again and recomputed. It never clears a mark it did not set.
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
/** Rooms recomputed per round (one query per source collection each). */
const REFRESH_BATCH = 500;
/** FerretDB: rooms whose statistics are stored at once by storeWhereMarked (a read and a write each). */
const POINT_STORES_IN_FLIGHT = 4;

/** The distinct string room ids of `docs` (field `roomId`). */
export function roomIdsOf(docs: readonly Document[]): string[] {
  const ids = new Set<string>();
  for (const d of docs) if (typeof d.roomId === 'string' && d.roomId !== '') ids.add(d.roomId);
  return [...ids];
}

/** A room's activity as its statistics document stores it (no activity: null dates). */
export function storedActivity(a: RoomActivity | undefined): Required<Pick<RoomStatsDoc, 'messageCount' | 'callCount' | 'firstActivityAt' | 'lastActivityAt'>> {
  return { messageCount: a?.messageCount ?? 0, callCount: a?.callCount ?? 0, firstActivityAt: a?.firstActivityAt ?? null, lastActivityAt: a?.lastActivityAt ?? null };
}

/**
 * Step 1: marks the rooms as about to change (upsert), `live` too for retention's archive/destroy/restore. On FerretDB
 * an upsert is a read, then an insert: two writers marking a room that has no document at the same moment can meet a
 * duplicate key (MongoDB retries such `_id` upserts itself). The room has its document then, so the command is sent
 * once more (every statement again, each with a fresh token: a mark set twice is still a mark).
 */
export async function markRoomsDirty(db: Db, roomIds: readonly string[], writeConcern: WriteConcernSettings, opts: { live?: boolean } = {}): Promise<void> {
  const col = db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
  for (let i = 0; i < roomIds.length; i += MAX_UPDATES_PER_COMMAND) {
    const send = (): Promise<unknown> => col.bulkWrite(roomIds.slice(i, i + MAX_UPDATES_PER_COMMAND).map((id): AnyBulkWriteOperation<RoomStatsDoc> => ({
      updateOne: { filter: { _id: id }, update: { $set: { dirty: new ObjectId(), ...(opts.live ? { live: true } : {}) } }, upsert: true },
    })), { ordered: false, writeConcern });
    try {
      await send();
    } catch (err) {
      if (!onlyDuplicates(err)) throw err;
      await send();
    }
  }
}

/** A write error made of duplicate-key errors only (no write concern error beside them). */
function onlyDuplicates(err: unknown): boolean {
  if (!(err instanceof MongoBulkWriteError)) return (err as { code?: unknown }).code === 11000;
  const raw: unknown = err.writeErrors;
  const errors = (Array.isArray(raw) ? raw : [raw]) as { code?: unknown }[];
  return errors.length > 0 && errors.every((e) => e.code === 11000) && err.result?.getWriteConcernError() == null;
}

/**
 * These rooms' statistics from their records, in one streamed query per source collection (`roomId` $in, the
 * portal's roomId index on MongoDB), counted in the process: only what is visible, no $group/$min/$max (FerretDB
 * 1.24 lacks them), the same result on MongoDB. FerretDB scans the collection once per call (it pushes no such
 * filter down to SQLite), hence one call for a whole round of rooms, never one per room; from a thousand rooms on
 * that scan goes without the `$in` (findIn). Memory: one entry per room.
 */
export async function computeRoomsActivity(db: Db, roomIds: readonly string[], maxTimeMS?: number): Promise<Map<string, RoomActivity>> {
  const out = new Map<string, RoomActivity>();
  for (const id of roomIds) out.set(id, { messageCount: 0, callCount: 0 });
  if (roomIds.length === 0) return out;
  const scan = await pointQueriesOnly(db);
  for (const src of ROOM_STAT_SOURCES) {
    const options = { projection: { _id: 0, roomId: 1, [src.dateField]: 1, _archived: 1 }, ...(maxTimeMS ? { maxTimeMS } : {}) };
    for await (const d of findIn(db.collection(src.collection), 'roomId', roomIds, {}, options, scan)) {
      const a = typeof d.roomId === 'string' ? out.get(d.roomId) : undefined;
      if (a) countActivity(a, src, d);
    }
  }
  return out;
}

/**
 * Adds one record of `src`'s collection to a room's activity: only what an auditor sees counts (visible()), its date
 * only if it is one. The full recount above and the importer's increments (importer/room-increments.ts) share it.
 */
export function countActivity(a: RoomActivity, src: (typeof ROOM_STAT_SOURCES)[number], d: Document): void {
  if (!isVisible(d)) return;
  a[src.counter]++;
  const at: unknown = d[src.dateField];
  if (!(at instanceof Date)) return;
  if (!a.firstActivityAt || at < a.firstActivityAt) a.firstActivityAt = at;
  if (!a.lastActivityAt || at > a.lastActivityAt) a.lastActivityAt = at;
}

/** Step 3 for these rooms (those marked): recompute and store where the mark is still the one read. */
export async function refreshRooms(db: Db, roomIds: readonly string[], writeConcern: WriteConcernSettings, now: () => Date = () => new Date()): Promise<number> {
  const col = db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
  const pointOnly = await pointQueriesOnly(db);
  let stored = 0;
  for (let i = 0; i < roomIds.length; i += REFRESH_BATCH) {
    const marks = (await findByIds(col, roomIds.slice(i, i + REFRESH_BATCH), { projection: { dirty: 1 } }, pointOnly)) as Pick<RoomStatsDoc, '_id' | 'dirty'>[];
    stored += await refreshMarked(db, marks, writeConcern, now);
  }
  return stored;
}

async function refreshMarked(db: Db, marks: readonly Pick<RoomStatsDoc, '_id' | 'dirty'>[], writeConcern: WriteConcernSettings, now: () => Date): Promise<number> {
  const marked = marks.filter((m): m is { _id: string; dirty: ObjectId } => m.dirty instanceof ObjectId);
  const activity = await computeRoomsActivity(db, marked.map((m) => m._id));
  const at = now();
  const entries = marked.map((m) => ({ id: m._id, token: m.dirty, set: { ...storedActivity(activity.get(m._id)), computedAt: at } }));
  return (await storeWhereMarked(db, entries, writeConcern)).stored;
}

/**
 * Step 3's store: for each room, `set` (clearing `dirty` and `live`) only if its mark is still `token`. Returns how
 * many were stored, and the rooms that may not have been (a command in which some statement matched nothing: the
 * driver gives no per-statement count).
 * On MongoDB each is one conditional update `{_id, dirty: token}` (50 to a command), atomic per document. FerretDB's
 * SQLite backend answers any filter but `{_id}` by reading the whole collection (point-queries.ts), which holds every
 * room ever imported; there each room is read by `{_id}`, its token compared here, and at once updated by `{_id}`, one
 * room at a time (a few rooms in flight): a read, then a write, as FerretDB 1.24 does for a conditional update itself
 * (handler/common/update.go), one request later. On FerretDB the argument rests, as before, on record writers taking
 * turns (the process's record-write mutex: imports, retention batches and refreshes, the backfill's rounds; the
 * one-time completeness pass only marks rooms, which any writer may do at any time).
 */
export async function storeWhereMarked(
  db: Db, entries: readonly { id: string; token: ObjectId; set: Document }[], writeConcern: WriteConcernSettings,
): Promise<{ stored: number; unsure: string[] }> {
  const col = db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
  const pointOnly = await pointQueriesOnly(db);
  const unsure: string[] = [];
  let stored = 0;
  const update = (e: (typeof entries)[number]): Document => ({ $set: e.set, $unset: { dirty: '', live: '' } });
  if (pointOnly) {
    for (let i = 0; i < entries.length; i += POINT_STORES_IN_FLIGHT) {
      // Every store of a group settles before an error is thrown: none may land after the caller has let go.
      await settleAll(entries.slice(i, i + POINT_STORES_IN_FLIGHT).map(async (e) => {
        const d = await col.findOne({ _id: e.id }, { projection: { dirty: 1 } });
        const ours = d?.dirty instanceof ObjectId && d.dirty.equals(e.token);
        const matched = ours ? (await col.updateOne({ _id: e.id }, update(e), { writeConcern })).matchedCount : 0;
        stored += matched;
        if (matched === 0) unsure.push(e.id);
      }));
    }
    return { stored, unsure };
  }
  for (let i = 0; i < entries.length; i += MAX_UPDATES_PER_COMMAND) {
    const slice = entries.slice(i, i + MAX_UPDATES_PER_COMMAND);
    const ops: AnyBulkWriteOperation<RoomStatsDoc>[] = slice.map((e) => ({ updateOne: { filter: { _id: e.id, dirty: e.token }, update: update(e) } }));
    const res = await col.bulkWrite(ops, { ordered: false, writeConcern });
    stored += res.matchedCount;
    if (res.matchedCount < slice.length) unsure.push(...slice.map((e) => e.id));
  }
  return { stored, unsure };
}

/** Awaits every promise, then throws the first rejection if any (Promise.all would return while others still run). */
async function settleAll(work: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Step 3 for every room marked when it starts (this import's, and any a crash left), in bounded rounds. */
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
    // A short round was the last: asking again would find only marks set after this sweep began (refreshed by their
    // writer or by the next sweep), and costs FerretDB another read of every room's document.
    if (marks.length < REFRESH_BATCH) return stored;
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
  for (const [id, a] of await computeRoomsActivity(db, live, maxTimeMS)) out.set(id, a);
  return out;
}

/** The refresh rounds find marked rooms by `dirty` (sparse: only marked rooms are in it). */
export async function ensureRoomStatsIndexes(db: Db): Promise<void> {
  await ensureIndexes(db.collection(ROOM_STATS_COLLECTION), [{ name: 'dirty', key: { dirty: 1 }, options: { sparse: true } }]);
}
