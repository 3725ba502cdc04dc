import { ObjectId, type Db, type WriteConcernSettings } from 'mongodb';
import { markRoomsDirty, ROOM_STAT_SOURCES } from '../portal/room-stats.js';
import { MIGRATIONS_COLLECTION } from './stamp-backfill.js';

/** Rooms an import is about to write the first records of, noted before those writes (see NewRoomJournal). */
export const NEW_ROOMS_JOURNAL = 'proxy.new_rooms';
/** proxy.migrations marker: every room with stored messages or calls has a statistics document or a journal entry. */
export const ROOM_STATS_COMPLETE = 'room-stats-complete';

interface JournalDoc { _id: ObjectId; rooms: unknown; at: Date }

/**
 * Lets an import count a new room's statistics from its own inserts instead of reading the room's records back (on
 * FerretDB a read of the whole messages and calls collections, the largest share of an import into a year's database).
 *
 * That count is exact only if the room had no visible record before this import wrote to it. A room with no
 * statistics document could still have some: records an import wrote before crashing, ahead of the statistics it
 * would have inserted after its last write. The invariant that rules this out, "every room with stored messages or
 * calls has a statistics document or is listed in this journal", is kept by:
 * - an import notes the rooms it found without a document here (majority) before it writes their first records, and
 *   removes its entries only after their statistics are stored; every other writer marks a room (creating its
 *   document) before changing its records (portal/room-stats.ts);
 * - each import starts by recovering what a crashed one left: every room still listed is marked, which creates its
 *   document (refreshDirtyRooms then recomputes it from its records), and the entry is removed;
 * - the marker ROOM_STATS_COMPLETE says the invariant holds for the records stored before journalling existed. It is
 *   written when an import finds no message and no call stored at all (a new database), or by the one-time pass over a
 *   database an older version filled (completeRoomStats in portal/room-stats-backfill.ts: every room with records and
 *   no document marked). Without it an import still journals, but reads new rooms back from their records.
 * Recovering an entry that belongs to an import still running elsewhere (a deposed HA leader) is harmless: its rooms
 * get documents, so that import's own insert of their statistics meets a duplicate and it marks and recomputes them.
 * Limit: a database that got the marker while an older version (which writes no journal) still imports into it, in
 * a rolling upgrade of an HA pair, relies on that version not crashing between its record writes and its room
 * statistics; a room it left so would keep counts without those records until something marks it.
 */
export class NewRoomJournal {
  private readonly entries: ObjectId[] = [];

  private constructor(private readonly db: Db, private readonly writeConcern: WriteConcernSettings, readonly counting: boolean) {}

  /** Recovers what earlier imports left, then learns whether this import may count new rooms (the marker). */
  static async open(db: Db, writeConcern: WriteConcernSettings): Promise<NewRoomJournal> {
    await recoverNewRooms(db, writeConcern);
    return new NewRoomJournal(db, writeConcern, await roomStatsComplete(db, writeConcern));
  }

  /**
   * Before the first write into `rooms` (none has a statistics document): one entry, majority. Written whether or not
   * this import counts, so records written by this version never break the invariant (the one-time pass relies on it).
   */
  async note(rooms: readonly string[]): Promise<void> {
    if (rooms.length === 0) return;
    const _id = new ObjectId();
    await this.db.collection<JournalDoc>(NEW_ROOMS_JOURNAL).insertOne({ _id, rooms: [...rooms], at: new Date() }, { writeConcern: this.writeConcern });
    this.entries.push(_id);
  }

  /** After every room noted has its statistics document: this import's entries go. */
  async close(): Promise<void> {
    const col = this.db.collection<JournalDoc>(NEW_ROOMS_JOURNAL);
    // One `{_id}` delete each (the one filter FerretDB hands to SQLite); an import writes one entry per record batch.
    while (this.entries.length > 0) {
      const id = this.entries[this.entries.length - 1];
      await col.deleteOne({ _id: id }, { writeConcern: this.writeConcern });
      this.entries.pop();
    }
  }
}

/**
 * Every room an interrupted import noted is marked (its statistics document created or marked; the import's
 * refreshDirtyRooms recomputes it), then its entry removed. Returns the rooms marked. The collection is small: one
 * entry per record batch of imports that did not finish.
 */
export async function recoverNewRooms(db: Db, writeConcern: WriteConcernSettings): Promise<number> {
  const col = db.collection<JournalDoc>(NEW_ROOMS_JOURNAL);
  const left = await col.find({}, { projection: { _id: 1 } }).toArray();
  let marked = 0;
  for (const { _id } of left) {
    const entry = await col.findOne({ _id });
    if (!entry) continue;
    const rooms = Array.isArray(entry.rooms) ? entry.rooms.filter((r): r is string => typeof r === 'string' && r !== '') : [];
    await markRoomsDirty(db, rooms, writeConcern);
    await col.deleteOne({ _id }, { writeConcern });
    marked += rooms.length;
  }
  return marked;
}

/** The marker, written now if no message and no call is stored (nothing can predate the journal then). */
async function roomStatsComplete(db: Db, writeConcern: WriteConcernSettings): Promise<boolean> {
  const marks = db.collection<{ _id: string; at: Date }>(MIGRATIONS_COLLECTION);
  if (await marks.findOne({ _id: ROOM_STATS_COMPLETE })) return true;
  for (const src of ROOM_STAT_SOURCES) {
    if (await db.collection(src.collection).findOne({}, { projection: { _id: 1 } })) return false;
  }
  try {
    await marks.updateOne({ _id: ROOM_STATS_COMPLETE }, { $setOnInsert: { at: new Date() } }, { upsert: true, writeConcern });
  } catch (err) {
    // Two nodes at once: the other one's marker went in first.
    if ((err as { code?: unknown }).code !== 11000) throw err;
  }
  return true;
}
