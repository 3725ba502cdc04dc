import { describe, expect, it } from 'vitest';
import { FERRETDB_IN_SCAN_KEYS, findIn } from '../../../proxy/importer/point-queries.js';
import { refreshArchiveIdentity, SUPERSEDED_FIELD } from '../../../proxy/importer/identity.js';
import { setPointQueriesForTests } from '../../../proxy/importer/point-queries.js';
import { computeRoomsActivity } from '../../../proxy/portal/room-stats.js';
import { useMonitoredClient } from '../../helpers/db.js';

const ROOMS = FERRETDB_IN_SCAN_KEYS + 200;

/**
 * findIn: a `{field: {$in}}` look-up that on FerretDB, from FERRETDB_IN_SCAN_KEYS keys on, reads the collection
 * without the `$in` and matches the keys itself. Both ways must give the same documents.
 */
describe('findIn: the same documents with and without the $in', () => {
  const m = useMonitoredClient('find_in');

  async function seeded(name: string): Promise<ReturnType<typeof m.freshDb>> {
    const db = m.freshDb(name);
    const docs: { _id: string; [field: string]: unknown }[] = Array.from({ length: ROOMS * 2 }, (_, i) => ({ _id: `m-${i}`, roomId: `r-${i % ROOMS}`, n: i, sentAt: new Date(Date.UTC(2026, 0, 1, 0, i)) }));
    // Not matched by either path: another room, a number, an array holding a wanted key, no roomId.
    docs.push({ _id: 'other', roomId: 'elsewhere', n: 100, sentAt: new Date(0) });
    const col = db.collection<{ _id: string; [field: string]: unknown }>('history.messages');
    await col.insertMany(docs);
    await col.insertMany([
      { _id: 'num', roomId: 7, n: 101 },
      { _id: 'arr', roomId: ['r-1', 'r-2'], n: 102 },
      { _id: 'none', n: 103 },
    ]);
    return db;
  }

  const ids = async (it: AsyncIterable<{ _id?: unknown }>): Promise<string[]> => {
    const out: string[] = [];
    for await (const d of it) out.push(String(d._id));
    return out.sort();
  };

  it(`${ROOMS} keys and a further filter: the query without $in (scan) finds exactly what the $in query finds`, async () => {
    const db = await seeded('many');
    const col = db.collection('history.messages');
    const keys = Array.from({ length: ROOMS }, (_, i) => `r-${i}`);
    const rest = { n: { $gte: 10 } };
    m.commands.length = 0;
    const scanned = await ids(findIn(col, 'roomId', keys, rest, { projection: { _id: 1, roomId: 1 } }, true));
    const scanFind = m.commands.find((c) => c.commandName === 'find');
    expect(scanFind?.command.filter).toEqual(rest);
    m.commands.length = 0;
    const indexed = await ids(findIn(col, 'roomId', keys, rest, { projection: { _id: 1, roomId: 1 } }, false));
    expect((m.commands.find((c) => c.commandName === 'find')?.command.filter as { roomId?: unknown }).roomId).toHaveProperty('$in');
    expect(indexed).toEqual(scanned);
    expect(scanned).toHaveLength(ROOMS * 2 - 10);
    for (const decoy of ['arr', 'other', 'num', 'none']) expect(scanned).not.toContain(decoy);
  });

  it('fewer keys than the threshold: the $in goes to the server on FerretDB too, and one key is an equality', async () => {
    const db = await seeded('few');
    const col = db.collection('history.messages');
    m.commands.length = 0;
    expect(await ids(findIn(col, 'roomId', ['r-1', 'r-2'], {}, { projection: { _id: 1, roomId: 1 } }, true))).toEqual(['m-1', `m-${ROOMS + 1}`, 'm-2', `m-${ROOMS + 2}`].sort());
    expect((m.commands.find((c) => c.commandName === 'find')?.command.filter as { roomId?: unknown }).roomId).toEqual({ $in: ['r-1', 'r-2'] });
    m.commands.length = 0;
    expect(await ids(findIn(col, 'roomId', ['r-3', 'r-3'], {}, { projection: { _id: 1, roomId: 1 } }, true))).toEqual(['m-3', `m-${ROOMS + 3}`].sort());
    expect(m.commands.find((c) => c.commandName === 'find')?.command.filter).toEqual({ roomId: 'r-3' });
    expect(await ids(findIn(col, 'roomId', [], {}, { projection: { _id: 1, roomId: 1 } }, true))).toEqual([]);
  });

  it('refuses a projection without the field, a dotted field and the field in the rest of the filter, before any query', async () => {
    const db = m.freshDb('refuse');
    const col = db.collection('history.messages');
    m.commands.length = 0;
    await expect(ids(findIn(col, 'roomId', ['a'], {}, { projection: { _id: 1 } }, true))).rejects.toThrow(/projection must include roomId/);
    await expect(ids(findIn(col, 'sender.id', ['a'], {}, { projection: { 'sender.id': 1 } }, true))).rejects.toThrow(/not a top-level field/);
    await expect(ids(findIn(col, 'roomId', ['a'], { roomId: { $ne: 'b' } }, { projection: { roomId: 1 } }, true))).rejects.toThrow(/in the rest of the filter/);
    expect(m.commands.filter((c) => c.commandName === 'find')).toEqual([]);
  });

  it(`room statistics for ${ROOMS} rooms: the same counts and dates in FerretDB mode (scan) and MongoDB mode`, async () => {
    const db = await seeded('rooms');
    const keys = Array.from({ length: ROOMS }, (_, i) => `r-${i}`);
    setPointQueriesForTests(m.client, true);
    const scanned = await computeRoomsActivity(db, keys);
    setPointQueriesForTests(m.client, false);
    const indexed = await computeRoomsActivity(db, keys);
    expect([...scanned.entries()]).toEqual([...indexed.entries()]);
    expect(scanned.get('r-5')).toEqual({ messageCount: 2, callCount: 0, firstActivityAt: new Date(Date.UTC(2026, 0, 1, 0, 5)), lastActivityAt: new Date(Date.UTC(2026, 0, 1, 0, 5 + ROOMS)) });
  });

  for (const pointOnly of [true, false]) {
    it(`identities after an import, ${ROOMS} rooms in ${pointOnly ? 'FerretDB mode: one look-up without the $in' : 'MongoDB mode: 100 rooms a look-up'}, every older version superseded`, async () => {
      setPointQueriesForTests(m.client, pointOnly);
      const db = m.freshDb(pointOnly ? 'ident_scan' : 'ident_in');
      const archive = 'backup_svc1_job_20261001030000.zip';
      const rooms = db.collection<{ _id: string; [field: string]: unknown }>('history.rooms');
      await rooms.insertMany(Array.from({ length: ROOMS }, (_, i) => ({ _id: `old-${i}`, roomId: `r-${i}`, _retention: { createdAt: new Date(Date.UTC(2026, 8, 30)), archive: 'backup_svc1_job_20260930030000.zip' } })));
      await rooms.insertMany(Array.from({ length: ROOMS }, (_, i) => ({ _id: `new-${i}`, roomId: `r-${i}`, _retention: { createdAt: new Date(Date.UTC(2026, 9, 1)), archive } })));
      await rooms.insertOne({ _id: 'unrelated', roomId: 'r-unrelated', _retention: { createdAt: new Date(Date.UTC(2026, 8, 1)), archive: 'backup_svc1_job_20260901030000.zip' } });
      m.commands.length = 0;
      await refreshArchiveIdentity(db, 'history.rooms', archive, { w: 'majority', wtimeout: 10_000 });
      const lookups = m.commands.filter((c) => c.commandName === 'find' && c.command.find === 'history.rooms' && !('_retention.archive' in (c.command.filter as object)));
      if (pointOnly) {
        expect(lookups).toHaveLength(1);
        expect(lookups[0]?.command.filter).not.toHaveProperty('roomId');
      } else {
        expect(lookups).toHaveLength(Math.ceil(ROOMS / 100));
      }
      expect(await rooms.countDocuments({ [SUPERSEDED_FIELD]: true })).toBe(ROOMS);
      expect(await rooms.countDocuments({ _id: { $regex: /^new-/ }, [SUPERSEDED_FIELD]: { $exists: false } })).toBe(ROOMS);
      expect(await rooms.countDocuments({ _id: 'unrelated', [SUPERSEDED_FIELD]: { $exists: false } })).toBe(1);
    });
  }
});
