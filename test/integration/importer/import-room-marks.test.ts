import { type CommandStartedEvent } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { majority } from '../../../proxy/db/write-concern.js';
import { ImportRoomMarks } from '../../../proxy/importer/import-room-marks.js';
import { applyImport, planImport } from '../../../proxy/importer/index.js';
import { readRoomActivity, refreshDirtyRooms, ROOM_STATS_COLLECTION, type RoomStatsDoc } from '../../../proxy/portal/room-stats.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID, extractedDir } from './extracted-dir.js';

const log = pino({ level: 'silent' });
const wc = majority(10_000);
const at = (h: number): string => `{"$date":"2024-05-01T${String(h).padStart(2, '0')}:00:00.000Z"}`;
const date = (h: number): Date => new Date(`2024-05-01T${String(h).padStart(2, '0')}:00:00.000Z`);

/**
 * Rooms an import touches that have no statistics yet are not marked: their statistics are computed after the last
 * write and inserted (proxy/importer/import-room-marks.ts); rooms with statistics are marked, then updated
 * (incrementally here: room-increments.test.ts) or refreshed.
 */
describe('room statistics of new rooms inserted at import', () => {
  let t: TestDatabase;
  const writes: CommandStartedEvent[] = [];
  beforeAll(async () => {
    t = await testDatabase('roommarks', {
      onCommand: (e) => {
        if ((e.commandName === 'update' || e.commandName === 'insert') && e.command[e.commandName] === ROOM_STATS_COLLECTION) writes.push(e);
      },
    });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('a new room gets its statistics in one insert after the writes, never a mark; a room with statistics is marked and updated', async () => {
    const db = t.db;
    await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).insertOne({ _id: 'r-old', messageCount: 1, callCount: 0, firstActivityAt: date(1), lastActivityAt: date(1), computedAt: new Date() });
    await db.collection('history.messages').insertOne({ _id: 'm0' as never, roomId: 'r-old', sentAt: date(1) });
    const x = await extractedDir({
      'history/rooms.json': '{"_id":"r-new","roomId":"r-new"}\n{"_id":"r-old","roomId":"r-old"}\n',
      'history/messages.json': [
        `{"_id":"m1","roomId":"r-new","sentAt":${at(5)}}`,
        `{"_id":"m2","roomId":"r-new","sentAt":${at(3)}}`,
        `{"_id":"m3","roomId":"r-old","sentAt":${at(9)}}`,
      ].join('\n'),
      'history/calls.json': `{"_id":"c1","callId":"c1","roomId":"r-new","startedAt":${at(7)}}\n`,
    });
    try {
      const plan = await planImport(x.dir, x.entries, log);
      writes.length = 0;
      await applyImport(db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log, batchSize: 1 });
      const stats = await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).find({}, { projection: { computedAt: 0 } }).sort({ _id: 1 }).toArray();
      expect(stats).toEqual([
        { _id: 'r-new', messageCount: 2, callCount: 1, firstActivityAt: date(3), lastActivityAt: date(7) },
        { _id: 'r-old', messageCount: 2, callCount: 0, firstActivityAt: date(1), lastActivityAt: date(9) },
      ]);
      const updated = writes.filter((e) => e.commandName === 'update').flatMap((e) => (e.command.updates as { q: { _id: unknown } }[]).map((u) => u.q._id));
      expect(new Set(updated)).toEqual(new Set(['r-old']));
      const inserted = writes.filter((e) => e.commandName === 'insert').flatMap((e) => (e.command.documents as { _id: unknown }[]).map((d) => d._id));
      expect(inserted).toEqual(['r-new']);
    } finally {
      await x.remove();
    }
  });

  it('a new room whose statistics another writer stored meanwhile is marked and recomputed, not left with theirs', async () => {
    const db = t.db;
    const marks = await ImportRoomMarks.open(db, wc);
    await marks.before([{ roomId: 'r-race' }]);
    // Another writer's statistics, computed before this import's message was written.
    await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).insertOne({ _id: 'r-race', messageCount: 0, callCount: 0, firstActivityAt: null, lastActivityAt: null, computedAt: new Date() });
    await db.collection('history.messages').insertOne({ _id: 'm-race' as never, roomId: 'r-race', sentAt: date(4) });
    await marks.finish();
    expect((await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).findOne({ _id: 'r-race' }))?.dirty).toBeDefined();
    await refreshDirtyRooms(db, wc);
    const doc = await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).findOne({ _id: 'r-race' }, { projection: { computedAt: 0 } });
    expect(doc).toEqual({ _id: 'r-race', messageCount: 1, callCount: 0, firstActivityAt: date(4), lastActivityAt: date(4) });
  });

  it('a crash before the insert leaves no statistics for the new room: readers count it from its records', async () => {
    const db = t.db;
    const marks = await ImportRoomMarks.open(db, wc);
    await marks.before([{ roomId: 'r-crash' }]);
    await db.collection('history.messages').insertOne({ _id: 'm-crash' as never, roomId: 'r-crash', sentAt: date(6) });
    // No finish(): the process died here.
    expect(await db.collection(ROOM_STATS_COLLECTION).countDocuments({ _id: 'r-crash' as never })).toBe(0);
    expect((await readRoomActivity(db, ['r-crash'], 10_000)).get('r-crash')).toEqual({ messageCount: 1, callCount: 0, firstActivityAt: date(6), lastActivityAt: date(6) });
  });
});
