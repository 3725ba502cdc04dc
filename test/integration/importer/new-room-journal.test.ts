import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ObjectId, type Db } from 'mongodb';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { majority } from '../../../proxy/db/write-concern.js';
import { ImportRoomMarks } from '../../../proxy/importer/import-room-marks.js';
import { applyImport, planImport } from '../../../proxy/importer/index.js';
import { NEW_ROOMS_JOURNAL, recoverNewRooms, ROOM_STATS_COMPLETE } from '../../../proxy/importer/new-room-journal.js';
import { PROCESS_SPACE } from '../../../proxy/retention/lock.js';
import { MIGRATIONS_COLLECTION } from '../../../proxy/importer/stamp-backfill.js';
import { refreshDirtyRooms, ROOM_STATS_COLLECTION, type RoomStatsDoc } from '../../../proxy/portal/room-stats.js';
import { completeRoomStats } from '../../../proxy/portal/room-stats-backfill.js';
import { useMonitoredClient } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID, LATER_ARCHIVE, extractedDir } from './extracted-dir.js';

const log = pino({ level: 'silent' });
const wc = majority(10_000);
const at = (h: number): string => `{"$date":"2024-05-01T${String(h).padStart(2, '0')}:00:00.000Z"}`;
const date = (h: number): Date => new Date(`2024-05-01T${String(h).padStart(2, '0')}:00:00.000Z`);
const message = (id: string, roomId: string, h: number): string => `{"_id":"${id}","messageId":"${id}","roomId":"${roomId}","sentAt":${at(h)}}`;

async function importFiles(db: Db, files: Record<string, string>, archive = ARCHIVE): Promise<void> {
  const x = await extractedDir(files);
  try {
    await applyImport(db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive }, { wtimeoutMs: 10_000, log, batchSize: 1 });
  } finally {
    await x.remove();
  }
}

const stats = async (db: Db, room: string): Promise<unknown> =>
  db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).findOne({ _id: room }, { projection: { computedAt: 0 } });

/**
 * New rooms' statistics counted from the import's own inserts (proxy/importer/new-room-journal.ts): only where the
 * journal proves the room had no record before, and recovered after a crash.
 */
describe('new rooms journal: statistics counted from the inserts, never from a partial view', () => {
  const m = useMonitoredClient('newrooms');
  const roomReads = (): number =>
    m.commands.filter((c) => c.commandName === 'find' && (c.command.find === 'history.messages' || c.command.find === 'history.calls') && (c.command.filter as { roomId?: unknown }).roomId !== undefined).length;

  it('a new database: the marker is written, new rooms are counted without reading messages or calls back, the journal is emptied', async () => {
    const db = m.freshDb('fresh');
    m.commands.length = 0;
    await importFiles(db, {
      'history/rooms.json': '{"_id":"r1","roomId":"r1"}\n{"_id":"r2","roomId":"r2"}\n',
      'history/messages.json': [message('m1', 'r1', 5), message('m2', 'r1', 3), message('m3', 'r2', 9)].join('\n'),
      'history/calls.json': `{"_id":"c1","callId":"c1","roomId":"r1","startedAt":${at(7)}}\n`,
    });
    expect(roomReads()).toBe(0);
    const journalled = m.commands.filter((c) => c.commandName === 'insert' && c.command.insert === NEW_ROOMS_JOURNAL);
    expect(journalled.length).toBeGreaterThan(0);
    expect(await stats(db, 'r1')).toEqual({ _id: 'r1', messageCount: 2, callCount: 1, firstActivityAt: date(3), lastActivityAt: date(7) });
    expect(await stats(db, 'r2')).toEqual({ _id: 'r2', messageCount: 1, callCount: 0, firstActivityAt: date(9), lastActivityAt: date(9) });
    expect(await db.collection(MIGRATIONS_COLLECTION).countDocuments({ _id: ROOM_STATS_COMPLETE as never })).toBe(1);
    expect(await db.collection(NEW_ROOMS_JOURNAL).countDocuments({})).toBe(0);
  });

  it('a database filled before the journal (no marker): a room without statistics is computed from all its records', async () => {
    const db = m.freshDb('legacy');
    // Left by an older version's interrupted import: a message, no statistics document, no journal entry.
    await db.collection<{ _id: string; [k: string]: unknown }>('history.messages').insertOne({ _id: 'm-old', roomId: 'r1', sentAt: date(1) });
    m.commands.length = 0;
    await importFiles(db, { 'history/messages.json': message('m1', 'r1', 5) });
    expect(roomReads()).toBeGreaterThan(0);
    expect(await stats(db, 'r1')).toEqual({ _id: 'r1', messageCount: 2, callCount: 0, firstActivityAt: date(1), lastActivityAt: date(5) });
    expect(await db.collection(MIGRATIONS_COLLECTION).countDocuments({ _id: ROOM_STATS_COMPLETE as never })).toBe(0);
  });

  it('an import that died after writing a new room\'s first record: the next import recovers the room and counts both imports\' records', async () => {
    const db = m.freshDb('crash');
    const dying = await ImportRoomMarks.open(db, wc);
    await dying.before([{ roomId: 'r1' }]);
    await db.collection<{ _id: string; [k: string]: unknown }>('history.messages').insertOne({ _id: 'm1', messageId: 'm1', roomId: 'r1', sentAt: date(2), _retention: { archive: ARCHIVE } });
    // No finish(): the process died here, leaving its journal entry. (In this test process that import is let go; a
    // new process finds the dead one's pid gone: the owners test below.)
    dying.release();
    expect(await db.collection(NEW_ROOMS_JOURNAL).countDocuments({})).toBe(1);
    await importFiles(db, { 'history/messages.json': message('m2', 'r1', 6) }, LATER_ARCHIVE);
    expect(await stats(db, 'r1')).toEqual({ _id: 'r1', messageCount: 2, callCount: 0, firstActivityAt: date(2), lastActivityAt: date(6) });
    expect(await db.collection(NEW_ROOMS_JOURNAL).countDocuments({})).toBe(0);
  });

  it('a new room one of whose records was stored already (a replayed archive) is computed from its records', async () => {
    const db = m.freshDb('replay');
    // A new database (the marker goes in), then a record of r1 with neither statistics nor a journal entry: the replay
    // meets it as a duplicate, so the room cannot be counted from this import's inserts alone.
    await ImportRoomMarks.open(db, wc);
    await db.collection<{ _id: string; [k: string]: unknown }>('history.messages').insertOne({ _id: 'm1', messageId: 'm1', roomId: 'r1', sentAt: date(2) });
    m.commands.length = 0;
    await importFiles(db, { 'history/messages.json': [message('m1', 'r1', 2), message('m2', 'r1', 4)].join('\n') });
    expect(roomReads()).toBeGreaterThan(0);
    expect(await stats(db, 'r1')).toEqual({ _id: 'r1', messageCount: 2, callCount: 0, firstActivityAt: date(2), lastActivityAt: date(4) });
  });

  it('the statistics another writer stored for a counted new room meanwhile are not kept: the room is marked and recomputed', async () => {
    const db = m.freshDb('race');
    const marks = await ImportRoomMarks.open(db, wc);
    await marks.before([{ roomId: 'r1' }]);
    await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).insertOne({ _id: 'r1', messageCount: 5, callCount: 0, firstActivityAt: null, lastActivityAt: null, computedAt: new Date() });
    await db.collection<{ _id: string; [k: string]: unknown }>('history.messages').insertOne({ _id: 'm1', roomId: 'r1', sentAt: date(4) });
    await marks.finish();
    await refreshDirtyRooms(db, wc);
    expect(await stats(db, 'r1')).toEqual({ _id: 'r1', messageCount: 1, callCount: 0, firstActivityAt: date(4), lastActivityAt: date(4) });
    expect(await db.collection(NEW_ROOMS_JOURNAL).countDocuments({})).toBe(0);
  });

  it('the one-time pass over a database an older version filled: rooms with records and no statistics get them, then new rooms are counted', async () => {
    const db = m.freshDb('complete');
    const msgs = db.collection<{ _id: string; [k: string]: unknown }>('history.messages');
    await msgs.insertMany([{ _id: 'm-a', roomId: 'r-gap', sentAt: date(1) }, { _id: 'm-b', roomId: 'r-ok', sentAt: date(2) }, { _id: 'm-c', roomId: 'r-gap', sentAt: date(3) }]);
    await db.collection<{ _id: string; [k: string]: unknown }>('history.calls').insertOne({ _id: 'c-a', roomId: 'r-callonly', startedAt: date(4) });
    await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).insertOne({ _id: 'r-ok', messageCount: 1, callCount: 0, firstActivityAt: date(2), lastActivityAt: date(2), computedAt: new Date() });
    expect(await completeRoomStats(db, wc)).toBe(2);
    // Marked by the pass (readers count them live); the next import's refreshDirtyRooms recomputes them.
    expect((await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).findOne({ _id: 'r-gap' }))?.dirty).toBeDefined();
    await refreshDirtyRooms(db, wc);
    expect(await stats(db, 'r-gap')).toEqual({ _id: 'r-gap', messageCount: 2, callCount: 0, firstActivityAt: date(1), lastActivityAt: date(3) });
    expect(await stats(db, 'r-callonly')).toEqual({ _id: 'r-callonly', messageCount: 0, callCount: 1, firstActivityAt: date(4), lastActivityAt: date(4) });
    expect(await db.collection(MIGRATIONS_COLLECTION).countDocuments({ _id: ROOM_STATS_COMPLETE as never })).toBe(1);
    expect(await completeRoomStats(db, wc)).toBe(0);
    m.commands.length = 0;
    await importFiles(db, { 'history/messages.json': [message('m1', 'r-gap', 5), message('m2', 'r-new', 6)].join('\n') });
    expect(roomReads()).toBe(0);
    expect(await stats(db, 'r-gap')).toEqual({ _id: 'r-gap', messageCount: 3, callCount: 0, firstActivityAt: date(1), lastActivityAt: date(5) });
    expect(await stats(db, 'r-new')).toEqual({ _id: 'r-new', messageCount: 1, callCount: 0, firstActivityAt: date(6), lastActivityAt: date(6) });
  });

  it('a message a newer archive moves into a new room took the replace path: the room is computed from its records', async () => {
    const db = m.freshDb('move');
    await importFiles(db, { 'history/messages.json': message('m1', 'r-old', 2) });
    m.commands.length = 0;
    await importFiles(db, { 'history/messages.json': [message('m1', 'r-new', 2), message('m2', 'r-new', 4)].join('\n') }, LATER_ARCHIVE);
    expect(await stats(db, 'r-new')).toEqual({ _id: 'r-new', messageCount: 2, callCount: 0, firstActivityAt: date(2), lastActivityAt: date(4) });
    expect(await stats(db, 'r-old')).toEqual({ _id: 'r-old', messageCount: 0, callCount: 0, firstActivityAt: null, lastActivityAt: null });
  });

  it('recovery marks the rooms of an import still writing in this process but leaves its entry; that import ends exact', async () => {
    const db = m.freshDb('running');
    const writing = await ImportRoomMarks.open(db, wc);
    await writing.before([{ roomId: 'r1' }]);
    const first = { _id: 'm1', roomId: 'r1', sentAt: date(2) };
    await db.collection<{ _id: string; [k: string]: unknown }>('history.messages').insertOne(first);
    writing.hooksFor('history.messages')?.inserted?.([first]);
    // Another import starts meanwhile: its recovery marks the running import's room but keeps its entry.
    expect(await recoverNewRooms(db, wc, new Date())).toBe(1);
    expect(await db.collection(NEW_ROOMS_JOURNAL).countDocuments({})).toBe(1);
    await refreshDirtyRooms(db, wc);
    const second = { _id: 'm2', roomId: 'r1', sentAt: date(5) };
    await db.collection<{ _id: string; [k: string]: unknown }>('history.messages').insertOne(second);
    writing.hooksFor('history.messages')?.inserted?.([second]);
    await writing.finish();
    await refreshDirtyRooms(db, wc);
    expect(await stats(db, 'r1')).toEqual({ _id: 'r1', messageCount: 2, callCount: 0, firstActivityAt: date(2), lastActivityAt: date(5) });
    expect(await db.collection(NEW_ROOMS_JOURNAL).countDocuments({})).toBe(0);
  });

  it('entries of other imports: rooms always marked; removed only when their process is gone (same machine), or after a day', async () => {
    const db = m.freshDb('owners');
    const dead = spawnSync('true').pid;
    const bootId = ((): string | null => {
      try {
        return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      } catch {
        return null;
      }
    })();
    const entry = (id: string, over: object): object => ({ _id: new ObjectId(), rooms: [id], at: new Date(), owner: `o-${id}`, ...PROCESS_SPACE, bootId, ...over });
    const journal = db.collection(NEW_ROOMS_JOURNAL);
    await journal.insertMany([
      entry('r-live', { pid: 1 }), // init: alive, another process of this machine
      entry('r-dead', { pid: dead }),
      entry('r-elsewhere', { host: 'another-host', pid: 4242 }),
      entry('r-otherboot', { bootId: 'another-machine-same-host-name', pid: dead }), // an HA peer with our host name
      entry('r-ours-again', { bootId: 'another-machine-same-host-name', pid: process.pid }),
      entry('r-stale', { host: 'another-host', pid: 4242, at: new Date(Date.now() - 25 * 3_600_000) }),
      entry('r-ours', { pid: process.pid }), // an earlier import of this process that is not running
    ]);
    expect(await recoverNewRooms(db, wc, new Date())).toBe(7);
    const left = (await journal.find({}).toArray()).map((e) => (e.rooms as string[])[0]).sort();
    const provable = bootId !== null && PROCESS_SPACE.pidNs !== null;
    expect(left).toEqual(provable ? ['r-elsewhere', 'r-live', 'r-otherboot', 'r-ours-again'] : ['r-dead', 'r-elsewhere', 'r-live', 'r-otherboot', 'r-ours', 'r-ours-again']);
    for (const room of ['r-live', 'r-dead', 'r-elsewhere', 'r-otherboot', 'r-ours-again', 'r-stale', 'r-ours']) {
      expect((await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).findOne({ _id: room }))?.dirty, room).toBeDefined();
    }
  });
});
