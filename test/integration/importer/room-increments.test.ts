import { ObjectId, type CommandStartedEvent, type Db } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { majority } from '../../../proxy/db/write-concern.js';
import { ImportRoomMarks } from '../../../proxy/importer/import-room-marks.js';
import { applyImport, planImport } from '../../../proxy/importer/index.js';
import { setPointQueriesForTests } from '../../../proxy/importer/point-queries.js';
import { computeRoomsActivity, markRoomsDirty, refreshDirtyRooms, ROOM_STATS_COLLECTION, type RoomStatsDoc } from '../../../proxy/portal/room-stats.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID, LATER_ARCHIVE, extractedDir } from './extracted-dir.js';

const log = pino({ level: 'silent' });
const wc = majority(10_000);
const MESSAGES = 'history.messages';
const at = (h: number): string => `{"$date":"2024-05-01T${String(h).padStart(2, '0')}:00:00.000Z"}`;
const date = (h: number): Date => new Date(`2024-05-01T${String(h).padStart(2, '0')}:00:00.000Z`);
const message = (id: string, roomId: string, h: number): string => `{"_id":"${id}","messageId":"${id}","roomId":"${roomId}","sentAt":${at(h)}}`;
const call = (id: string, roomId: string, h: number): string => `{"_id":"${id}","callId":"${id}","roomId":"${roomId}","startedAt":${at(h)}}`;

/** The stored statistics of `room` (without computedAt) and what a full recomputation from its records gives. */
async function storedAndTruth(db: Db, room: string): Promise<{ stored: unknown; truth: unknown }> {
  const d = await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).findOne({ _id: room }, { projection: { computedAt: 0 } });
  const a = (await computeRoomsActivity(db, [room])).get(room);
  return { stored: d, truth: { _id: room, messageCount: a?.messageCount, callCount: a?.callCount, firstActivityAt: a?.firstActivityAt ?? null, lastActivityAt: a?.lastActivityAt ?? null } };
}

/** Exact statistics for `room` from its records, as the backfill or an earlier import leaves them. */
async function seedStats(db: Db, room: string, extra: Partial<RoomStatsDoc> = {}): Promise<void> {
  const a = (await computeRoomsActivity(db, [room])).get(room) ?? { messageCount: 0, callCount: 0 };
  await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).insertOne({
    _id: room, messageCount: a.messageCount, callCount: a.callCount, firstActivityAt: a.firstActivityAt ?? null, lastActivityAt: a.lastActivityAt ?? null, computedAt: new Date(), ...extra,
  });
}

async function importFiles(db: Db, files: Record<string, string>, archive = ARCHIVE): Promise<void> {
  const x = await extractedDir(files);
  try {
    await applyImport(db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive }, { wtimeoutMs: 10_000, log, batchSize: 2 });
  } finally {
    await x.remove();
  }
}

/**
 * Incremental room statistics (proxy/importer/room-increments.ts): a room whose statistics were exact when the import
 * marked it, and to which the import only inserted records, gets old + inserted without reading its records; every
 * other case falls back to the full recomputation and ends exact.
 */
describe('room statistics stored incrementally at import', () => {
  let t: TestDatabase;
  const commands: CommandStartedEvent[] = [];
  beforeAll(async () => {
    t = await testDatabase('roominc', { onCommand: (e) => commands.push(e) });
  });
  afterAll(async () => {
    await t.drop();
  });
  /** Reads of history.messages (find or aggregate) whose filter names `room`. */
  const roomReads = (room: string): CommandStartedEvent[] =>
    commands.filter((e) => (e.commandName === 'find' || e.commandName === 'aggregate') && e.command[e.commandName] === MESSAGES && JSON.stringify(e.command).includes(`"${room}"`));

  // Both modes of the importer's look-ups (point-queries.ts): the hooks that count inserts sit on both paths.
  describe.each([
    { mode: 'FerretDB point queries', pointOnly: true },
    { mode: 'MongoDB $in queries', pointOnly: false },
  ])('$mode', ({ pointOnly }) => {
    it('a day of new messages and calls into a standing room: exact counts, and not one read of its messages', async () => {
      setPointQueriesForTests(t.client, pointOnly);
      const room = `standing-${pointOnly}`;
      await t.db.collection(MESSAGES).insertMany([{ _id: `${room}-m0` as never, roomId: room, sentAt: date(4) }, { _id: `${room}-m1` as never, roomId: room, sentAt: date(6), _archived: { at: new Date() } }]);
      await seedStats(t.db, room);
      commands.length = 0;
      await importFiles(t.db, {
        'history/rooms.json': `{"_id":"${room}","roomId":"${room}"}\n`,
        'history/messages.json': [message(`${room}-m2`, room, 9), message(`${room}-m3`, room, 2), message(`${room}-m4`, room, 5)].join('\n'),
        'history/calls.json': call(`${room}-c1`, room, 11),
      });
      expect(roomReads(room)).toEqual([]);
      // The store is conditioned on our mark: on MongoDB in the update's filter; on FerretDB, where any filter but
      // {_id} reads the whole statistics collection, by a read of the room by {_id} before an update by {_id}.
      const filters = commands.filter((e) => e.commandName === 'update' && e.command.update === ROOM_STATS_COLLECTION).flatMap((e) => (e.command.updates as { q: object }[]).map((u) => Object.keys(u.q).sort().join(',')));
      expect(filters.length).toBeGreaterThan(0);
      expect(new Set(filters)).toEqual(new Set(pointOnly ? ['_id'] : ['_id,dirty']));
      const { stored, truth } = await storedAndTruth(t.db, room);
      expect(stored).toEqual(truth);
      expect(stored).toEqual({ _id: room, messageCount: 4, callCount: 1, firstActivityAt: date(2), lastActivityAt: date(11) });
    });

    it('a repeated record (same _id, newer archive) moving to another room: both rooms recomputed, exact', async () => {
      setPointQueriesForTests(t.client, pointOnly);
      const [a, b] = [`move-a-${pointOnly}`, `move-b-${pointOnly}`];
      await importFiles(t.db, { 'history/messages.json': [message(`${a}-1`, a, 1), message(`${a}-2`, a, 2)].join('\n'), 'history/calls.json': call(`${b}-c`, b, 3) });
      expect((await storedAndTruth(t.db, a)).stored).toMatchObject({ messageCount: 2 });
      commands.length = 0;
      // The newer archive moves a-2 to room b and adds a message to a.
      await importFiles(t.db, { 'history/messages.json': [message(`${a}-2`, b, 2), message(`${a}-3`, a, 7)].join('\n') }, LATER_ARCHIVE);
      for (const room of [a, b]) {
        const { stored, truth } = await storedAndTruth(t.db, room);
        expect(stored).toEqual(truth);
        expect(roomReads(room).length).toBeGreaterThan(0);
      }
      expect((await storedAndTruth(t.db, a)).stored).toMatchObject({ messageCount: 2, lastActivityAt: date(7) });
      expect((await storedAndTruth(t.db, b)).stored).toMatchObject({ messageCount: 1, callCount: 1 });
    });
  });

  it('a room whose statistics were live or already dirty before the import is recomputed, exact', async () => {
    const rooms = { live: 'was-live', dirty: 'was-dirty' };
    for (const room of Object.values(rooms)) await t.db.collection(MESSAGES).insertOne({ _id: `${room}-m0` as never, roomId: room, sentAt: date(3) });
    // Counts that include a record retention archived a moment ago (live), and a crash's leftover (dirty).
    await seedStats(t.db, rooms.live, { messageCount: 7, live: true });
    await seedStats(t.db, rooms.dirty, { messageCount: 9, dirty: new ObjectId() });
    await importFiles(t.db, { 'history/messages.json': Object.values(rooms).map((room) => message(`${room}-m1`, room, 8)).join('\n') });
    for (const room of Object.values(rooms)) {
      const { stored, truth } = await storedAndTruth(t.db, room);
      expect(stored).toEqual(truth);
      expect(stored).toMatchObject({ messageCount: 2 });
    }
  });

  // Both ways of storing under our mark (room-stats.ts storeWhereMarked): the conditional update, and on FerretDB the
  // read of the token by {_id} before an update by {_id}.
  it.each([true, false])('another writer that marks the room (or recomputes it) between our mark and our finish: recomputed, exact (FerretDB point queries: %s)', async (pointOnly) => {
    setPointQueriesForTests(t.client, pointOnly);
    const col = t.db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
    for (const [base, other] of [['raced-mark', 'mark'], ['raced-refresh', 'refresh']] as const) {
      const room = `${base}-${pointOnly}`;
      await t.db.collection(MESSAGES).insertOne({ _id: `${room}-m0` as never, roomId: room, sentAt: date(1) });
      await seedStats(t.db, room);
      const marks = await ImportRoomMarks.open(t.db, wc);
      const hooks = marks.hooksFor(MESSAGES);
      const ours = { _id: `${room}-m1`, roomId: room, sentAt: date(5) };
      await marks.before([ours]);
      await t.db.collection(MESSAGES).insertOne(ours as never);
      hooks?.inserted?.([ours]);
      if (other === 'mark') {
        // Another writer's mark, then its record: old + ours would miss it.
        await markRoomsDirty(t.db, [room], wc);
        await t.db.collection(MESSAGES).insertOne({ _id: `${room}-m2` as never, roomId: room, sentAt: date(9) });
      } else {
        // Another process's refresh clears our mark, then our next record goes in.
        await refreshDirtyRooms(t.db, wc);
        const next = { _id: `${room}-m2`, roomId: room, sentAt: date(9) };
        await t.db.collection(MESSAGES).insertOne(next as never);
        hooks?.inserted?.([next]);
      }
      await marks.finish();
      expect((await col.findOne({ _id: room }))?.dirty).toBeDefined();
      await refreshDirtyRooms(t.db, wc);
      const { stored, truth } = await storedAndTruth(t.db, room);
      expect(stored).toEqual(truth);
      expect(stored).toMatchObject({ messageCount: 3, firstActivityAt: date(1), lastActivityAt: date(9) });
    }
  });

  it('an import that dies after its writes and before finish leaves the room marked; the next refresh makes it exact', async () => {
    const room = 'crashed';
    await t.db.collection(MESSAGES).insertOne({ _id: `${room}-m0` as never, roomId: room, sentAt: date(2) });
    await seedStats(t.db, room);
    const marks = await ImportRoomMarks.open(t.db, wc);
    const doc = { _id: `${room}-m1`, roomId: room, sentAt: date(3) };
    await marks.before([doc]);
    await t.db.collection(MESSAGES).insertOne(doc as never);
    marks.hooksFor(MESSAGES)?.inserted?.([doc]);
    // No finish(): the process died here. The stored counts are the old ones, under our mark.
    const left = await t.db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).findOne({ _id: room });
    expect(left).toMatchObject({ messageCount: 1 });
    expect(left?.dirty).toBeDefined();
    await refreshDirtyRooms(t.db, wc);
    const { stored, truth } = await storedAndTruth(t.db, room);
    expect(stored).toEqual(truth);
    expect(stored).toMatchObject({ messageCount: 2 });
  });
});
