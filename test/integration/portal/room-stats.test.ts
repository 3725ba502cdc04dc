import { ObjectId, type Db } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyImport, planImport } from '../../../proxy/importer/index.js';
import { MIGRATIONS_COLLECTION } from '../../../proxy/importer/stamp-backfill.js';
import { ListService } from '../../../proxy/portal/queries/list-service.js';
import { NameResolver } from '../../../proxy/portal/queries/names.js';
import { LIST_DEFS, RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { backfillRoomStats, ROOM_STATS_MIGRATION } from '../../../proxy/portal/room-stats-backfill.js';
import { ROOM_STATS_COLLECTION, type RoomStatsDoc } from '../../../proxy/portal/room-stats.js';
import { Mutex } from '../../../proxy/retention/mutex.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { importSimulatorDayWithResult } from '../../helpers/portal-data.js';
import { ARCHIVE, JOB_ID, LATER_ARCHIVE, extractedDir } from '../importer/extracted-dir.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const wc = { w: 'majority' as const, wtimeoutMS: 10_000 };

interface Stats { messageCount: number; callCount: number; firstActivityAt: string | null; lastActivityAt: string | null }

/** The truth, from the records themselves: visible (not archived) messages and calls per room. */
async function expectedStats(db: Db): Promise<Map<string, Stats>> {
  const out = new Map<string, Stats>();
  for (const r of await db.collection(RECORD_COLLECTIONS.rooms).find({}).toArray()) out.set(String(r.roomId), { messageCount: 0, callCount: 0, firstActivityAt: null, lastActivityAt: null });
  const add = (roomId: unknown, key: 'messageCount' | 'callCount', at: unknown): void => {
    const s = out.get(String(roomId));
    if (!s) return;
    s[key]++;
    const iso = at instanceof Date ? at.toISOString() : null;
    if (iso && (!s.firstActivityAt || iso < s.firstActivityAt)) s.firstActivityAt = iso;
    if (iso && (!s.lastActivityAt || iso > s.lastActivityAt)) s.lastActivityAt = iso;
  };
  for (const m of await db.collection(RECORD_COLLECTIONS.messages).find({ _archived: { $exists: false } }).toArray()) add(m.roomId, 'messageCount', m.sentAt);
  for (const c of await db.collection(RECORD_COLLECTIONS.calls).find({ _archived: { $exists: false } }).toArray()) add(c.roomId, 'callCount', c.startedAt);
  return out;
}

/** What is stored in portal.room_stats for the rooms of history.rooms. */
async function storedStats(db: Db): Promise<Map<string, Stats>> {
  const out = new Map<string, Stats>();
  const rooms = new Set((await db.collection(RECORD_COLLECTIONS.rooms).find({}).toArray()).map((r) => String(r.roomId)));
  for (const d of await db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).find({}).toArray()) {
    if (!rooms.has(d._id)) continue;
    out.set(d._id, { messageCount: d.messageCount ?? -1, callCount: d.callCount ?? -1, firstActivityAt: d.firstActivityAt?.toISOString() ?? null, lastActivityAt: d.lastActivityAt?.toISOString() ?? null });
  }
  return out;
}

/** Every room's statistics as the Room report (GET /rooms) shows them, page by page. */
async function listed(lists: ListService): Promise<Map<string, Stats>> {
  const out = new Map<string, Stats>();
  let cursor: string | undefined;
  do {
    const page = await lists.list(LIST_DEFS.rooms, { limit: 50, ...(cursor ? { cursor } : {}) });
    for (const r of page.items) {
      out.set(r.id, {
        messageCount: r.messageCount as number, callCount: r.callCount as number,
        firstActivityAt: r.firstActivityAt instanceof Date ? r.firstActivityAt.toISOString() : null,
        lastActivityAt: r.lastActivityAt instanceof Date ? r.lastActivityAt.toISOString() : null,
      });
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

const marked = (db: Db): Promise<number> => db.collection(ROOM_STATS_COLLECTION).countDocuments({ $or: [{ dirty: { $exists: true } }, { live: { $exists: true } }] });

describe('room statistics kept at import (issue 12 item 7)', () => {
  let t: TestDatabase;
  let lists: ListService;
  let svc: RetentionService;
  beforeAll(async () => {
    t = await testDatabase('room_stats');
    await importSimulatorDayWithResult(t.db, { records: 300, mediaBytes: 16 * 1024 });
    lists = new ListService(t.db, new NameResolver(t.db));
    svc = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'test', batchSize: 7, batchPauseMs: 0 });
    await svc.ensureIndexes();
  });
  afterAll(async () => {
    await t.drop();
  });

  it('right after an import every room has stored statistics equal to its records, and the Room report shows them', async () => {
    const expected = await expectedStats(t.db);
    expect([...expected.values()].some((s) => s.messageCount > 1 && s.callCount > 0)).toBe(true);
    expect(await storedStats(t.db)).toEqual(expected);
    expect(await marked(t.db)).toBe(0);
    expect(await listed(lists)).toEqual(expected);
  });

  it('the Room report reads the stored statistics (no per-request computation) unless a room is marked live', async () => {
    const [room] = [...(await expectedStats(t.db)).keys()];
    const col = t.db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION);
    const real = await col.findOne({ _id: String(room) });
    try {
      await col.updateOne({ _id: String(room) }, { $set: { messageCount: 4242 } });
      expect((await listed(lists)).get(String(room))?.messageCount).toBe(4242);
      await col.updateOne({ _id: String(room) }, { $set: { live: true } });
      expect((await listed(lists)).get(String(room))?.messageCount).toBe(real?.messageCount);
    } finally {
      await col.replaceOne({ _id: String(room) }, real as RoomStatsDoc);
    }
  });

  it('a re-import of the same archive leaves the statistics as they are (no double count, no mark left)', async () => {
    const before = await expectedStats(t.db);
    await importSimulatorDayWithResult(t.db, { records: 300, mediaBytes: 16 * 1024 });
    expect(await storedStats(t.db)).toEqual(before);
    expect(await marked(t.db)).toBe(0);
  });

  it('archive, restore and destroy by retention: the counts follow at once and never include archived records', async () => {
    const full = await expectedStats(t.db);
    const [busy] = [...full.entries()].sort((a, b) => b[1].messageCount - a[1].messageCount)[0] ?? [];
    await svc.createPolicy({ id: 'arch', name: 'Archive one room', dataType: 'messages', scope: { kind: 'room', ids: [String(busy)] }, activeDays: 1, archiveDays: 4000 }, 'admin');
    await svc.setPolicyMode('arch', 'enforce', 'Archive one room', 'admin');
    const run = await svc.run({ trigger: 'manual', requestedBy: 'test' });
    expect(run.errors).toEqual([]);
    const archived = await expectedStats(t.db);
    expect(archived.get(String(busy))?.messageCount).toBe(0);
    expect(await storedStats(t.db)).toEqual(archived);
    expect(await listed(lists)).toEqual(archived);
    expect(await marked(t.db)).toBe(0);

    const msg = await t.db.collection(RECORD_COLLECTIONS.messages).findOne({ roomId: busy, _archived: { $exists: true } });
    await svc.restoreRecord('messages', String(msg?.messageId), 'one message needed', 'admin');
    expect((await storedStats(t.db)).get(String(busy))?.messageCount).toBe(1);
    await svc.restoreRun(run._id, 'all of it needed', 'admin');
    expect(await storedStats(t.db)).toEqual(full);
    await svc.deletePolicy('arch', 'admin');

    await svc.createPolicy({ id: 'calls-gone', name: 'Calls gone', dataType: 'calls', scope: { kind: 'all' }, activeDays: 1, archiveDays: 0 }, 'admin');
    await svc.setPolicyMode('calls-gone', 'enforce', 'Calls gone', 'admin');
    expect((await svc.run({ trigger: 'manual', requestedBy: 'test' })).errors).toEqual([]);
    const destroyed = await expectedStats(t.db);
    expect([...destroyed.values()].every((s) => s.callCount === 0)).toBe(true);
    expect(await storedStats(t.db)).toEqual(destroyed);
    expect(await listed(lists)).toEqual(destroyed);
    await svc.deletePolicy('calls-gone', 'admin');
  });

  it('the one-time backfill fills a database from before the statistics, is right meanwhile, and repairs marks a crash left', async () => {
    const expected = await expectedStats(t.db);
    await t.db.collection(ROOM_STATS_COLLECTION).deleteMany({});
    await t.db.collection(MIGRATIONS_COLLECTION).deleteMany({ _id: ROOM_STATS_MIGRATION as never });
    // Before the backfill: computed live, still right.
    expect(await listed(lists)).toEqual(expected);
    expect(await backfillRoomStats(t.db, wc)).toBe(expected.size);
    expect(await storedStats(t.db)).toEqual(expected);
    expect(await t.db.collection(MIGRATIONS_COLLECTION).findOne({ _id: ROOM_STATS_MIGRATION as never })).toMatchObject({ rooms: expected.size });

    // A crash after marking a room (import killed mid-way): the next start recomputes that room only.
    const [room] = [...expected.keys()];
    await t.db.collection<RoomStatsDoc>(ROOM_STATS_COLLECTION).updateOne({ _id: String(room) }, { $set: { messageCount: 999, dirty: new ObjectId() } });
    expect(await backfillRoomStats(t.db, wc)).toBe(1);
    expect(await storedStats(t.db)).toEqual(expected);
    expect(await backfillRoomStats(t.db, wc)).toBe(0);
  });

  it("a restore and the backfill wait for the process's record-write mutex (an import holds it while it writes)", async () => {
    const mutex = new Mutex();
    const own = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'test', batchPauseMs: 0, recordWrites: mutex });
    const msg = await t.db.collection(RECORD_COLLECTIONS.messages).findOne({ _archived: { $exists: false } });
    await t.db.collection(RECORD_COLLECTIONS.messages).updateOne({ _id: msg?._id }, { $set: { _archived: { runId: 'r-test', policyId: 'p-test', at: new Date() } } });
    let release!: () => void;
    const held = mutex.run(() => new Promise<void>((resolve) => (release = resolve)));
    let restored = false;
    let backfilled = false;
    const restoring = own.restoreRecord('messages', String(msg?.messageId), 'needed back', 'admin').then(() => (restored = true));
    const backfilling = backfillRoomStats(t.db, wc, { recordWrites: mutex }).then(() => (backfilled = true));
    await new Promise((r) => setTimeout(r, 400));
    expect(restored).toBe(false);
    expect(backfilled).toBe(false);
    expect(await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ _id: msg?._id, _archived: { $exists: true } })).toBe(1);
    release();
    await Promise.all([held, restoring, backfilling]);
    expect(await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ _id: msg?._id, _archived: { $exists: true } })).toBe(0);
    expect(await storedStats(t.db)).toEqual(await expectedStats(t.db));
  });

  it('newest delivery wins: a newer archive that moves a message to another room updates both rooms; an older one changes nothing', async () => {
    const d = await testDatabase('room_stats_move');
    const at = (h: number): { $date: string } => ({ $date: `2024-04-30T${String(h).padStart(2, '0')}:00:00Z` });
    const rooms = ['{"_id":"ra","roomId":"ra","name":"A","createdAt":{"$date":"2024-04-01T00:00:00Z"}}', '{"_id":"rb","roomId":"rb","name":"B","createdAt":{"$date":"2024-04-01T00:00:00Z"}}'].join('\n');
    // The newer archive delivers only the moved message (no rooms): room A is marked because its stored version leaves it.
    const messages = (moved: boolean): string => (moved ? [2] : [0, 1, 2]).map((i) => JSON.stringify({ _id: `m${i}`, messageId: `m${i}`, roomId: moved ? 'rb' : 'ra', sentAt: at(i + 1) })).join('\n');
    const run = async (moved: boolean, archive: string): Promise<void> => {
      const x = await extractedDir({ ...(moved ? {} : { 'history/rooms.json': rooms }), 'history/messages.json': messages(moved) });
      try {
        await applyImport(d.db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive }, { wtimeoutMs: 10_000, log });
      } finally {
        await x.remove();
      }
    };
    try {
      await run(false, ARCHIVE);
      expect((await storedStats(d.db)).get('ra')).toMatchObject({ messageCount: 3, lastActivityAt: '2024-04-30T03:00:00.000Z' });
      await run(true, LATER_ARCHIVE);
      expect(await storedStats(d.db)).toEqual(await expectedStats(d.db));
      expect((await storedStats(d.db)).get('ra')).toMatchObject({ messageCount: 2, lastActivityAt: '2024-04-30T02:00:00.000Z' });
      expect((await storedStats(d.db)).get('rb')).toMatchObject({ messageCount: 1, firstActivityAt: '2024-04-30T03:00:00.000Z' });
      await run(false, ARCHIVE); // older: loses to the newer delivery
      expect((await storedStats(d.db)).get('rb')?.messageCount).toBe(1);
      expect(await marked(d.db)).toBe(0);
    } finally {
      await d.drop();
    }
  });
});
