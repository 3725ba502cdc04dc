import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { refreshDirtyRooms, ROOM_STATS_COLLECTION, type RoomStatsDoc } from '../../../proxy/portal/room-stats.js';
import { useMonitoredClient } from '../../helpers/db.js';

const W = { w: 'majority' as const, wtimeout: 10_000 };

/**
 * The sweep of marked rooms reads `room_stats` by `dirty` in rounds of 500; on FerretDB each round reads every room's
 * document. A short round is the last one: no further read that can only come back empty.
 */
describe('refreshDirtyRooms: rounds', () => {
  const m = useMonitoredClient('dirty_rounds');

  for (const rooms of [3, 500, 501]) {
    // A full round may be followed by more: one more read then (500 rooms: 2 reads, the second empty).
    const rounds = Math.floor(rooms / 500) + 1;
    it(`${rooms} marked rooms: all recomputed, in ${rounds} read(s) by dirty`, async () => {
      const db = m.freshDb(`r${rooms}`);
      const col = db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
      await col.insertMany(Array.from({ length: rooms }, (_, i) => ({ _id: `room-${String(i).padStart(4, '0')}`, messageCount: 7, callCount: 1, dirty: new ObjectId() })));
      m.commands.length = 0;
      expect(await refreshDirtyRooms(db, W)).toBe(rooms);
      const reads = m.commands.filter((c) => c.commandName === 'find' && c.command.find === ROOM_STATS_COLLECTION && 'dirty' in (c.command.filter as object));
      expect(reads).toHaveLength(rounds);
      expect(await col.countDocuments({ dirty: { $exists: true } })).toBe(0);
      expect(await col.countDocuments({ messageCount: 0, callCount: 0 })).toBe(rooms);
    });
  }
});
