import { MongoBulkWriteError, ObjectId, type Db, type Document, type WriteConcernSettings, type WriteError } from 'mongodb';
import { databaseError } from '../db/connect.js';
import { findByIds, pointQueriesOnly } from './point-queries.js';
import { NewRoomJournal } from './new-room-journal.js';
import { RoomIncrements } from './room-increments.js';
import type { ReplaceHooks } from './upsert-batch.js';
import { computeRoomsActivity, countActivity, markRoomsDirty, storedActivity, roomIdsOf, ROOM_STAT_COLLECTIONS, ROOM_STAT_SOURCES, ROOM_STATS_COLLECTION, type RoomActivity, type RoomStatsDoc } from '../portal/room-stats.js';

const DUPLICATE_KEY = 11000;
/** New rooms computed and inserted per round: one query per source collection (on FerretDB a scan of it), one insert. */
const NEW_ROOMS_BATCH = 5000;
/** First marks (findOneAndUpdate, one room each) in flight at once. */
const MARKS_IN_FLIGHT = 4;

/**
 * The room statistics side of an import (proxy/portal/room-stats.ts): which rooms its record writes change, marked
 * before the write that changes them, each once per import.
 *
 * A room with no statistics document yet (a new day's enquiry rooms: most rooms of a day) is not marked: with no
 * document, readers already compute it from its records (readRoomActivity), so there is nothing a mark must fence,
 * and a crash leaves it that way (right, only slower to read). After the last write its statistics are INSERTED; a
 * document another writer created meanwhile (duplicate key) means that room is marked and refreshed the usual way.
 * Those statistics are what this import inserted into the room when the journal (new-room-journal.ts) proves the room
 * had no record before (noted there before the first write; recovered by the next import after a crash), and none of
 * the room's records took the replace path or met a stored duplicate; otherwise they are computed from its records
 * (on FerretDB a read of the whole messages and calls collections, which grow with the year).
 *
 * Rooms that have a document are marked before the first write that changes them, by one findOneAndUpdate per room
 * that returns the document as it was before our mark (the same single-document update, so no other writer's mark
 * can fall between the read and ours on MongoDB). After the last write, a room whose statistics were exact then and
 * to which this import only added records gets old + added, stored only if our mark is still there, clearing it
 * (room-increments.ts: the argument, and its limit on FerretDB). Every other such room follows the protocol
 * unchanged: marked again after the last write (a refresh by another process meanwhile may have cleared the mark),
 * then recomputed from its records by refreshDirtyRooms. A crash anywhere leaves our marks, hence a full recompute.
 */
export class ImportRoomMarks {
  /** Each room this import touched, with its first mark (or existence check) to wait for before a write. */
  private readonly touched = new Map<string, Promise<void>>();
  /** Touched rooms that had no statistics document: not marked, inserted by finish(). */
  private readonly unmarked = new Set<string>();
  /** Marked rooms whose statistics may be stored as old + what this import inserted. */
  private readonly increments = new RoomIncrements();
  /** What this import inserted into each new room, while the journal lets it count them (NewRoomJournal.counting). */
  private readonly newActivity = new Map<string, RoomActivity>();
  /** New rooms that must be computed from their records after all (a record of theirs replaced or duplicated). */
  private readonly newTainted = new Set<string>();

  private constructor(private readonly db: Db, private readonly writeConcern: WriteConcernSettings, private readonly journal: NewRoomJournal) {}

  /** Before an import's first record write: what an interrupted import left is recovered first (NewRoomJournal.open). */
  static async open(db: Db, writeConcern: WriteConcernSettings): Promise<ImportRoomMarks> {
    const journal = await NewRoomJournal.open(db, writeConcern).catch((err: unknown) => {
      throw databaseError(err, 'recovering new rooms of an interrupted import');
    });
    return new ImportRoomMarks(db, writeConcern, journal);
  }

  /**
   * The record writes' hooks for `collection` (upsertBatch): stored versions about to be replaced have their rooms
   * marked; for messages and calls, what went in by insert is counted for its room, and a room any of whose records
   * took the replace path (incoming or stored side, whatever the outcome) is recomputed instead.
   */
  hooksFor(collection: string): ReplaceHooks | undefined {
    if (!ROOM_STAT_COLLECTIONS.has(collection)) return undefined;
    const source = ROOM_STAT_SOURCES.find((s) => s.collection === collection);
    // Room records (history.rooms) count nothing: a standing room's daily re-delivery must not cost its increment.
    if (!source) return { projection: { roomId: 1 }, beforeReplace: this.before };
    return {
      projection: { roomId: 1 },
      beforeReplace: async (stored) => {
        this.taint(roomIdsOf(stored));
        await this.before(stored);
      },
      inserted: (docs) => {
        this.increments.add(source, docs);
        for (const d of docs) {
          const a = typeof d.roomId === 'string' ? this.newActivity.get(d.roomId) : undefined;
          if (a) countActivity(a, source, d);
        }
      },
      duplicated: (docs) => this.taint(roomIdsOf(docs)),
    };
  }

  private taint(roomIds: readonly string[]): void {
    this.increments.taint(roomIds);
    for (const id of roomIds) this.newTainted.add(id);
  }

  /** Before writing `docs` (or replacing the stored versions `docs`): their rooms are marked, or known to be new. */
  readonly before = async (docs: readonly Document[]): Promise<void> => {
    const ids = roomIdsOf(docs);
    const fresh = ids.filter((id) => !this.touched.has(id));
    if (fresh.length > 0) {
      const marking = this.markExisting(fresh);
      for (const id of fresh) this.touched.set(id, marking);
    }
    await Promise.all(ids.map((id) => this.touched.get(id) ?? Promise.resolve()));
  };

  /**
   * After the last write: rooms with a document stored incrementally or marked again, new rooms computed and inserted.
   * Returns how many rooms took each way (`recomputed`: left marked for refreshDirtyRooms), the milliseconds spent
   * on rooms with statistics and on new rooms, and the error of clearing the journal if that failed: every statistic
   * is stored by then, and an entry left only has its rooms marked and recomputed by the next import.
   */
  async finish(): Promise<{ incremental: number; recomputed: number; new: number; markedMs: number; newMs: number; journalLeft?: unknown }> {
    const started = Date.now();
    const marked = [...this.touched.keys()].filter((id) => !this.unmarked.has(id));
    const full = await this.increments.store(this.db, marked, this.writeConcern, new Date()).catch((err: unknown) => {
      throw databaseError(err, 'storing room statistics');
    });
    await this.mark(full);
    const markedDone = Date.now();
    const fresh = [...this.unmarked];
    for (let i = 0; i < fresh.length; i += NEW_ROOMS_BATCH) await this.insertNew(fresh.slice(i, i + NEW_ROOMS_BATCH));
    const journalLeft: unknown = await this.journal.close().then(() => undefined, (err: unknown) => {
      this.journal.release();
      return err;
    });
    return {
      incremental: marked.length - full.length, recomputed: full.length, new: fresh.length, markedMs: markedDone - started, newMs: Date.now() - markedDone,
      ...(journalLeft === undefined ? {} : { journalLeft }),
    };
  }

  /** The import failed and its record writes have settled: what it noted is left to the next import's recovery. */
  release(): void {
    this.journal.release();
  }

  private async markExisting(ids: readonly string[]): Promise<void> {
    const have = await this.existing(ids).catch((err: unknown) => {
      throw databaseError(err, 'reading room statistics');
    });
    const fresh = ids.filter((id) => !have.has(id));
    for (const id of fresh) this.unmarked.add(id);
    // Noted before any record of theirs is written (this promise is what before() waits for).
    await this.journal.note(fresh).catch((err: unknown) => {
      throw databaseError(err, 'noting new rooms');
    });
    if (this.journal.counting) for (const id of fresh) this.newActivity.set(id, { messageCount: 0, callCount: 0 });
    await this.markFirst(ids.filter((id) => have.has(id))).catch((err: unknown) => {
      throw databaseError(err, 'marking rooms for their statistics');
    });
  }

  /**
   * The first mark of rooms that have a document: `{_id}` alone (the one filter FerretDB hands to SQLite), upsert as
   * any mark (a document gone meanwhile: marked, no before-image, recomputed). No projection: FerretDB 1.24 rejects
   * findAndModify's `fields`, and the document is a few fields.
   */
  private async markFirst(ids: readonly string[]): Promise<void> {
    const col = this.db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
    for (let i = 0; i < ids.length; i += MARKS_IN_FLIGHT) {
      await Promise.all(ids.slice(i, i + MARKS_IN_FLIGHT).map(async (id) => {
        const token = new ObjectId();
        const before = await col.findOneAndUpdate({ _id: id }, { $set: { dirty: token } }, { returnDocument: 'before', upsert: true, writeConcern: this.writeConcern });
        this.increments.track(id, token, before);
      }));
    }
  }

  /**
   * Which of these rooms have a statistics document: on FerretDB one `{_id}` query each, a few at a time (its SQLite
   * backend answers `_id: {$in}` by reading the whole collection, which holds every room ever imported); on MongoDB
   * one `$in` query (point-queries.ts).
   */
  private async existing(ids: readonly string[]): Promise<Set<string>> {
    const col = this.db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
    const found = await findByIds(col, ids, { projection: { _id: 1 } }, await pointQueriesOnly(this.db));
    return new Set(found.map((d) => String(d._id)));
  }

  private async mark(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await markRoomsDirty(this.db, ids, this.writeConcern).catch((err: unknown) => {
      throw databaseError(err, 'marking rooms for their statistics');
    });
  }

  /**
   * After every write of this import: counted (newActivity) or computed from the records; a room whose document
   * appeared meanwhile is marked instead.
   */
  private async insertNew(ids: readonly string[]): Promise<void> {
    const counted = (id: string): boolean => this.newActivity.has(id) && !this.newTainted.has(id);
    const activity = await computeRoomsActivity(this.db, ids.filter((id) => !counted(id))).catch((err: unknown) => {
      throw databaseError(err, 'computing room statistics');
    });
    for (const id of ids) if (counted(id)) activity.set(id, this.newActivity.get(id) ?? { messageCount: 0, callCount: 0 });
    const now = new Date();
    const docs: RoomStatsDoc[] = ids.map((id) => ({ _id: id, ...storedActivity(activity.get(id)), computedAt: now }));
    let raced: string[] = [];
    try {
      await this.db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).insertMany(docs, { ordered: false, writeConcern: this.writeConcern });
    } catch (err) {
      const raw = err instanceof MongoBulkWriteError ? err.writeErrors : [];
      const errors: WriteError[] = Array.isArray(raw) ? (raw as WriteError[]) : [raw as WriteError];
      // Anything but duplicates, or a write concern error beside them: not known to be stored durably.
      if (!(err instanceof MongoBulkWriteError) || errors.length === 0 || errors.some((e) => e.code !== DUPLICATE_KEY) || err.result?.getWriteConcernError() != null) {
        throw databaseError(err, 'storing room statistics');
      }
      raced = errors.map((e) => docs[e.index]?._id).filter((id): id is string => id !== undefined);
    }
    // refreshDirtyRooms (after the import's writes) recomputes these from their records.
    await this.mark(raced);
  }
}
