import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ObjectId, type Db, type WriteConcernSettings } from 'mongodb';
import { markRoomsDirty, ROOM_STAT_SOURCES } from '../portal/room-stats.js';
import { PROCESS_SPACE, processGone, serverNow } from '../retention/lock.js';
import { markMigrationDone, MIGRATIONS_COLLECTION } from './stamp-backfill.js';

/** Rooms an import is about to write the first records of, noted before those writes (see NewRoomJournal). */
export const NEW_ROOMS_JOURNAL = 'proxy.new_rooms';
/** proxy.migrations marker: every room with stored messages or calls has a statistics document or a journal entry. */
export const ROOM_STATS_COMPLETE = 'room-stats-complete';

interface JournalDoc {
  _id: ObjectId;
  rooms: unknown;
  at: Date;
  /**
   * The writing import (one id per NewRoomJournal) and where its process runs: retention/lock.ts PROCESS_SPACE, and the
   * kernel's boot id, which tells two machines apart even with the same host name (HA nodes need not differ in it).
   */
  owner?: string;
  host?: string;
  pidNs?: string | null;
  bootId?: string | null;
  pid?: number;
}

/** This machine's boot (/proc/sys/kernel/random/boot_id), or null where it cannot be read. */
function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}
const BOOT_ID = readBootId();
const OUR_SPACE = { ...PROCESS_SPACE, bootId: BOOT_ID };

/** An entry whose owner cannot be proved gone is removed by recovery only after this long (its rooms marked each time). */
const STALE_MS = 24 * 3_600_000;
/**
 * The journals of this process's imports that are still writing (open, neither closed nor released). Process state
 * by nature, like process.pid: recovery may remove an entry of this process only when its owner is not in here.
 */
const RUNNING = new Set<string>();

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
 * - each import starts by recovering what others left: every room still listed is marked, which creates its document
 *   (refreshDirtyRooms then recomputes it from its records); the entry is removed only when its import is provably
 *   not writing any more: an earlier import of this process that is not running, or one of a process of this machine
 *   (same boot id, host name and pid namespace) that is gone, or an entry older than a day by the database server's
 *   clock. An entry of a live import elsewhere (a CLI `import` beside the daemon, a deposed HA leader) stays, so if
 *   that import dies later its rooms are marked again by the next import (until the day is over, every import marks
 *   and recomputes them: a cost, not an error);
 * - the marker ROOM_STATS_COMPLETE says the invariant holds for the records stored before journalling existed. It is
 *   written when an import finds no message and no call stored at all (a new database), or by the one-time pass over a
 *   database an older version filled (completeRoomStats in portal/room-stats-backfill.ts: every room with records and
 *   no document marked). Without it an import still journals, but reads new rooms back from their records.
 * Marking the rooms of an import still running is harmless: they get documents, so that import's own insert of their
 * statistics meets a duplicate and it marks and recomputes them.
 * Limit: an older version writes no journal. If it imports into a database that has the marker (an HA pair in a
 * rolling upgrade, or a rollback) and an import of it stops between its record writes and its room statistics, and
 * that archive is never imported again (a replay meets its records as duplicates and recomputes the room), the room
 * keeps counts without those records until something marks it. docs/operations.md says to delete the marker after
 * running an older release, so the one-time pass runs again.
 */
export class NewRoomJournal {
  private readonly entries: ObjectId[] = [];
  private readonly owner = randomUUID();

  /** `clockOffset`: the database server's clock minus ours, read at open (entries are dated by the server's clock). */
  private constructor(private readonly db: Db, private readonly writeConcern: WriteConcernSettings, readonly counting: boolean, private readonly clockOffset: number) {
    RUNNING.add(this.owner);
  }

  /** Recovers what earlier imports left, then learns whether this import may count new rooms (the marker). */
  static async open(db: Db, writeConcern: WriteConcernSettings): Promise<NewRoomJournal> {
    const server = await serverNow(db);
    const clockOffset = server.getTime() - Date.now();
    await recoverNewRooms(db, writeConcern, server);
    return new NewRoomJournal(db, writeConcern, await roomStatsComplete(db, writeConcern), clockOffset);
  }

  /** This import writes no more (it failed; its record writes have settled): its entries are left to recovery. */
  release(): void {
    RUNNING.delete(this.owner);
  }

  /**
   * Before the first write into `rooms` (none has a statistics document): one entry, majority. Written whether or not
   * this import counts, so records written by this version never break the invariant (the one-time pass relies on it).
   */
  async note(rooms: readonly string[]): Promise<void> {
    if (rooms.length === 0) return;
    const _id = new ObjectId();
    const entry: JournalDoc = { _id, rooms: [...rooms], at: new Date(Date.now() + this.clockOffset), owner: this.owner, ...OUR_SPACE, pid: process.pid };
    await this.db.collection<JournalDoc>(NEW_ROOMS_JOURNAL).insertOne(entry, { writeConcern: this.writeConcern });
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
    this.release();
  }
}

/**
 * Every room listed in the journal is marked (its statistics document created or marked; the caller's
 * refreshDirtyRooms recomputes it), whoever listed it; the entry is removed when its import is provably not writing
 * (see the class comment). `now`: the database server's clock. Returns the rooms marked. The collection is small: one
 * entry per record batch of imports under way or that did not finish.
 */
export async function recoverNewRooms(db: Db, writeConcern: WriteConcernSettings, now: Date): Promise<number> {
  const col = db.collection<JournalDoc>(NEW_ROOMS_JOURNAL);
  const left = await col.find({}, { projection: { _id: 1 } }).toArray();
  let marked = 0;
  for (const { _id } of left) {
    const entry = await col.findOne({ _id });
    if (!entry) continue;
    const rooms = Array.isArray(entry.rooms) ? entry.rooms.filter((r): r is string => typeof r === 'string' && r !== '') : [];
    await markRoomsDirty(db, rooms, writeConcern);
    marked += rooms.length;
    if (ownerDone(entry, now)) await col.deleteOne({ _id }, { writeConcern });
  }
  return marked;
}

/** True when the entry's import cannot be writing any more. */
function ownerDone(entry: JournalDoc, now: Date): boolean {
  if (typeof entry.owner === 'string' && RUNNING.has(entry.owner)) return false;
  const sameMachine = BOOT_ID !== null && entry.bootId === BOOT_ID && PROCESS_SPACE.pidNs !== null && entry.host === PROCESS_SPACE.host && entry.pidNs === PROCESS_SPACE.pidNs;
  // Our own pid: an earlier import of this process (not running, checked above), or a dead predecessor with our pid.
  const ourProcess = sameMachine && entry.pid === process.pid;
  const old = !(entry.at instanceof Date) || now.getTime() - entry.at.getTime() > STALE_MS;
  return ourProcess || (sameMachine && processGone(entry)) || old;
}

/** The marker, written now if no message and no call is stored (nothing can predate the journal then). */
async function roomStatsComplete(db: Db, writeConcern: WriteConcernSettings): Promise<boolean> {
  const marks = db.collection<{ _id: string; at: Date }>(MIGRATIONS_COLLECTION);
  if (await marks.findOne({ _id: ROOM_STATS_COMPLETE })) return true;
  for (const src of ROOM_STAT_SOURCES) {
    if (await db.collection(src.collection).findOne({}, { projection: { _id: 1 } })) return false;
  }
  await markMigrationDone(db, ROOM_STATS_COMPLETE, {}, writeConcern);
  return true;
}
