import type { Db, Document, ObjectId, WriteConcernSettings } from 'mongodb';
import { countActivity, storeWhereMarked, ROOM_STAT_SOURCES, type RoomActivity, type RoomStatsDoc } from '../portal/room-stats.js';

type Source = (typeof ROOM_STAT_SOURCES)[number];

/** What this import proved about one room: its statistics when we marked it, and what it inserted since. */
interface Increment {
  /** Our mark: the store below is conditioned on it. */
  token: ObjectId;
  /** The statistics read atomically with setting our mark (exact: neither `dirty` nor `live` in them). */
  old: { messageCount: number; callCount: number; firstActivityAt: Date | null; lastActivityAt: Date | null };
  /** What this import inserted into the room since (visible records only). */
  added: RoomActivity;
}

/**
 * The incremental path of the importer's room statistics (import-room-marks.ts; protocol in portal/room-stats.ts).
 *
 * A room whose statistics were exact when this import marked it (the document's state right before our mark, read in
 * the same single-document update: numeric counts, no `dirty`, no `live`) and to which this import only ADDED records
 * (every one of its messages and calls this import wrote went in by insert, none took the replace path, no stored
 * record left it) holds, after the import's last write, exactly old + what was inserted, PROVIDED nobody else changed
 * its records meanwhile. Every other writer marks a room before changing its records, so "nobody else" is "our mark is
 * still there": the store is one conditional update `{_id, dirty: ourToken}`; anything else (matched nothing,
 * ineligible, tainted) goes the full way (marked again, recomputed by refreshDirtyRooms). The store only ever clears a
 * mark this import set, with counts it proved; a crash before it leaves the mark, and the next refresh recomputes.
 *
 * On FerretDB 1.24 findAndModify and update are a read then a write by `_id` (handler/common/update.go), not one
 * atomic step: a mark landing between the two would be lost. There the argument rests on record writers running one
 * at a time (imports and retention batches share the process mutex, on the HA leader only), as the importer's
 * newest-wins rule does (upsert-batch.ts).
 */
export class RoomIncrements {
  private readonly rooms = new Map<string, Increment>();
  /** Rooms that must be recomputed whatever their before-image said. */
  private readonly tainted = new Set<string>();

  /** Our first mark of `roomId` set `token`; `before` is the document as it was right before (null: none). */
  track(roomId: string, token: ObjectId, before: RoomStatsDoc | null): void {
    const old = exactStats(before);
    if (old) this.rooms.set(roomId, { token, old, added: { messageCount: 0, callCount: 0 } });
  }

  /** These rooms go the full way (a record of theirs took the replace path, or a stored one left them). */
  taint(roomIds: Iterable<string>): void {
    for (const id of roomIds) this.tainted.add(id);
  }

  /** `docs` were inserted as new documents into `source`'s collection (not duplicates). */
  add(source: Source, docs: readonly Document[]): void {
    for (const d of docs) {
      const inc = typeof d.roomId === 'string' ? this.rooms.get(d.roomId) : undefined;
      if (inc) countActivity(inc.added, source, d);
    }
  }

  /**
   * After the import's last record write: stores old + inserted for each eligible room of `roomIds` where our mark is
   * still set, in commands of <= 50. Returns the rooms that must go the full way: ineligible ones, and every room of
   * a command in which some statement matched nothing (the driver gives no per-statement count; marking a room we
   * did store only costs its recomputation).
   */
  async store(db: Db, roomIds: readonly string[], writeConcern: WriteConcernSettings, now: Date): Promise<string[]> {
    const full: string[] = [];
    const eligible: { id: string; token: ObjectId; set: Document }[] = [];
    for (const id of roomIds) {
      const inc = this.rooms.get(id);
      if (inc && !this.tainted.has(id)) eligible.push({ id, token: inc.token, set: { ...summed(inc), computedAt: now } });
      else full.push(id);
    }
    for (const id of (await storeWhereMarked(db, eligible, writeConcern)).unsure) full.push(id); // no spread: a day may touch 100 000s of rooms
    return full;
  }
}

/** The before-image's statistics if they were exact (see the class comment); null when unsure. */
function exactStats(before: RoomStatsDoc | null): Increment['old'] | null {
  if (!before || before.dirty !== undefined || before.live !== undefined) return null;
  const { messageCount, callCount, firstActivityAt, lastActivityAt } = before;
  if (typeof messageCount !== 'number' || typeof callCount !== 'number') return null;
  const dateOrNull = (v: unknown): v is Date | null | undefined => v === undefined || v === null || v instanceof Date;
  if (!dateOrNull(firstActivityAt) || !dateOrNull(lastActivityAt)) return null;
  return { messageCount, callCount, firstActivityAt: firstActivityAt ?? null, lastActivityAt: lastActivityAt ?? null };
}

/** Old + inserted; a null date on either side is "none" (no $min/$max on fields that may be null). */
function summed(inc: Increment): Pick<RoomStatsDoc, 'messageCount' | 'callCount' | 'firstActivityAt' | 'lastActivityAt'> {
  const pick = (a: Date | null, b: Date | null, earlier: boolean): Date | null => (a === null ? b : b === null ? a : (b < a) === earlier ? b : a);
  return {
    messageCount: inc.old.messageCount + inc.added.messageCount,
    callCount: inc.old.callCount + inc.added.callCount,
    firstActivityAt: pick(inc.old.firstActivityAt, inc.added.firstActivityAt ?? null, true),
    lastActivityAt: pick(inc.old.lastActivityAt, inc.added.lastActivityAt ?? null, false),
  };
}
