import { type CommandStartedEvent, type Document } from 'mongodb';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { majority } from '../../../proxy/db/write-concern.js';
import { applyImport, planImport } from '../../../proxy/importer/index.js';
import { findByIds, pointQueriesOnly } from '../../../proxy/importer/point-queries.js';
import { upsertBatch } from '../../../proxy/importer/upsert-batch.js';
import { ARCHIVE, JOB_ID, LATER_ARCHIVE, extractedDir } from './extracted-dir.js';
import { useMonitoredClient } from '../../helpers/db.js';

const log = pino({ level: 'silent' });
const EARLIER = `backup_svc-1_${JOB_ID}_20240430020000.zip`;
const at = (archive: string): Date => new Date(`${archive.slice(-18, -14)}-${archive.slice(-14, -12)}-${archive.slice(-12, -10)}T02:00:00Z`);
const stamp = (archive: string, sha: string): Document => ({ jobId: JOB_ID, archive, createdAt: at(archive), entry: 'history/rooms.json', sha256: sha.repeat(64) });

/** `_id` equality and nothing else: the only filter FerretDB 1.24 answers without reading the whole collection. */
function onlyIdEquality(filter: unknown): boolean {
  if (typeof filter !== 'object' || filter === null) return false;
  const keys = Object.keys(filter);
  const id: unknown = (filter as Document)._id;
  const operator = typeof id === 'object' && id !== null && !('_bsontype' in id) && Object.keys(id).some((k) => k.startsWith('$'));
  return keys.length === 1 && keys[0] === '_id' && !operator;
}

/** Filters of the find/update/delete commands sent for `collection`. */
function filtersOf(commands: readonly CommandStartedEvent[], collection: string): { command: string; filter: unknown }[] {
  const out: { command: string; filter: unknown }[] = [];
  for (const e of commands) {
    const c = e.command;
    if (e.commandName === 'find' && c.find === collection) out.push({ command: 'find', filter: c.filter });
    if (e.commandName === 'update' && c.update === collection) for (const u of c.updates as Document[]) out.push({ command: 'update', filter: u.q });
    if (e.commandName === 'delete' && c.delete === collection) for (const d of c.deletes as Document[]) out.push({ command: 'delete', filter: d.q });
  }
  return out;
}

describe('upsertBatch: newest delivery wins, with the conditional replace (MongoDB) or point look-ups (FerretDB)', () => {
  const mc = useMonitoredClient('upsert');
  const { commands, freshDb } = mc;

  for (const pointOnly of [false, true]) {
    it(`pointOnly=${pointOnly}: replaces older and unstamped versions, keeps newer and identical ones, takes a changed one from the same archive; the hook sees exactly the replaced`, async () => {
      const coll = freshDb(`rule_${pointOnly ? 'p' : 'c'}`).collection('history.rooms');
      await coll.insertMany([
        { _id: 'older', v: 0, _retention: stamp(ARCHIVE, 'a') },
        { _id: 'newer', v: 0, _retention: stamp(LATER_ARCHIVE, 'a') },
        { _id: 'same', v: 0, _retention: stamp(ARCHIVE, 'b') },
        { _id: 'changed', v: 0, _retention: stamp(ARCHIVE, 'a') },
        { _id: 'unstamped', v: 0, _retention: { jobId: JOB_ID, archive: EARLIER, entry: 'history/rooms.json', sha256: 'c'.repeat(64) } },
      ] as Document[]);
      const replacedSeen: unknown[] = [];
      const hooks = { projection: { v: 1 }, beforeReplace: (stored: readonly Document[]): Promise<void> => {
        replacedSeen.push(...stored.map((s) => s._id as unknown));
        return Promise.resolve();
      } };
      await upsertBatch(coll, [
        { _id: 'older', v: 1, _retention: stamp(LATER_ARCHIVE, 'x') },
        { _id: 'newer', v: 1, _retention: stamp(ARCHIVE, 'x') },
        { _id: 'same', v: 1, _retention: stamp(ARCHIVE, 'b') },
        { _id: 'changed', v: 1, _retention: stamp(ARCHIVE, 'd') },
        { _id: 'unstamped', v: 1, _retention: stamp(EARLIER, 'x') },
        { _id: 'new', v: 1, _retention: stamp(EARLIER, 'x') },
      ], majority(10_000), hooks, pointOnly);
      const v = Object.fromEntries((await coll.find({}).toArray()).map((d) => [String(d._id), d.v as number]));
      expect(v).toEqual({ older: 1, newer: 0, same: 0, changed: 1, unstamped: 1, new: 1 });
      expect(replacedSeen.map(String).sort()).toEqual(['changed', 'older', 'unstamped']);
    });
  }

  for (const pointOnly of [false, true]) {
    it(`pointOnly=${pointOnly}: a newer version written while the hook runs (before the replace) survives`, async () => {
      const coll = freshDb(`race_${pointOnly ? 'p' : 'c'}`).collection('history.rooms');
      // 60 records: two replace commands, the newer version lands in the second one's window too.
      const ids = Array.from({ length: 60 }, (_, i) => `r${i}`);
      await coll.insertMany(ids.map((_id) => ({ _id, v: 'old', _retention: stamp(EARLIER, 'a') })) as Document[]);
      const hooks = { projection: {}, beforeReplace: async (): Promise<void> => {
        // Another writer delivers a newer archive's version of the first and the last record meanwhile.
        for (const _id of ['r0', 'r59']) await coll.replaceOne({ _id } as Document, { v: 'new', _retention: stamp(LATER_ARCHIVE, 'n') });
      } };
      await upsertBatch(coll, ids.map((_id) => ({ _id, v: 'mid', _retention: stamp(ARCHIVE, 'm') })), majority(10_000), hooks, pointOnly);
      const v = Object.fromEntries((await coll.find({}).toArray()).map((d) => [String(d._id), d.v as string]));
      expect(v).toEqual(Object.fromEntries(ids.map((id) => [id, id === 'r0' || id === 'r59' ? 'new' : 'mid'])));
    });
  }

  for (const pointOnly of [false, true]) {
    it(`pointOnly=${pointOnly}: a replace command that failed with SQLITE_BUSY is decided again, not resent as it was`, async () => {
      const real = freshDb(`busy_${pointOnly ? 'p' : 'c'}`).collection('history.rooms');
      await real.insertMany([{ _id: 'a', v: 'old', _retention: stamp(EARLIER, 'a') }, { _id: 'b', v: 'old', _retention: stamp(EARLIER, 'a') }] as Document[]);
      let failed = 0;
      // The first replace command: a newer version of 'a' is written meanwhile, then the command fails as FerretDB's
      // does when SQLite's write lock stays taken (nothing of it written).
      const coll = new Proxy(real, { get(target, prop) {
        if (prop === 'bulkWrite' && failed === 0) {
          return async (): Promise<never> => {
            failed++;
            await real.replaceOne({ _id: 'a' } as Document, { v: 'new', _retention: stamp(LATER_ARCHIVE, 'n') });
            throw new Error('[collection.go:177 sqlite.(*collection).UpdateAll.func1] database is locked (5) (SQLITE_BUSY)');
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      } });
      await upsertBatch(coll, ['a', 'b'].map((_id) => ({ _id, v: 'mid', _retention: stamp(ARCHIVE, 'm') })), majority(10_000), undefined, pointOnly);
      expect(failed).toBe(1);
      const v = Object.fromEntries((await real.find({}).toArray()).map((d) => [String(d._id), d.v as string]));
      expect(v).toEqual({ a: 'new', b: 'mid' });
    });
  }

  for (const pointOnly of [false, true]) {
    it(`pointOnly=${pointOnly}: the hooks report what went in as new and what took the replace path; a record an insert wrote before failing with SQLITE_BUSY is a duplicate, never inserted`, async () => {
      const real = freshDb(`hooks_${pointOnly ? 'p' : 'c'}`).collection('history.messages');
      await real.insertOne({ _id: 'stored', v: 'old', _retention: stamp(EARLIER, 'a') } as Document);
      let failed = 0;
      // The first insert writes its first record, then fails as FerretDB's does when SQLite's write lock stays taken.
      const coll = new Proxy(real, { get(target, prop) {
        if (prop === 'insertMany' && failed === 0) {
          return async (docs: Document[]): Promise<never> => {
            failed++;
            await real.insertOne(docs[0] as Document);
            throw new Error('[collection.go:120 sqlite.(*collection).InsertAll.func1] database is locked (5) (SQLITE_BUSY)');
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      } });
      const inserted: unknown[] = [];
      const duplicated: unknown[] = [];
      const hooks = {
        projection: {}, beforeReplace: (): Promise<void> => Promise.resolve(),
        inserted: (docs: readonly Document[]) => inserted.push(...docs.map((d) => d._id as unknown)),
        duplicated: (docs: readonly Document[]) => duplicated.push(...docs.map((d) => d._id as unknown)),
      };
      await upsertBatch(coll, ['first', 'stored', 'x', 'y'].map((_id) => ({ _id, v: 'mid', _retention: stamp(ARCHIVE, 'm') })), majority(10_000), hooks, pointOnly);
      expect(failed).toBe(1);
      expect(inserted.map(String).sort()).toEqual(['x', 'y']);
      expect(duplicated.map(String).sort()).toEqual(['first', 'stored']);
      expect(await real.countDocuments({})).toBe(4);
    });
  }

  it('precondition: the test server is FerretDB and is judged so (point look-ups)', async () => {
    const info = await mc.client.db('admin').command({ buildInfo: 1 });
    expect(typeof info.ferretdbVersion).toBe('string');
    expect(await pointQueriesOnly(mc.client.db('admin'))).toBe(true);
  });

  it('findByIds on FerretDB: string ids one {_id} query each, numeric ids in one $in (a point query on them would scan)', async () => {
    const coll = freshDb('numeric').collection('mixed');
    await coll.insertMany([{ _id: 1, v: 'one' }, { _id: 2, v: 'two' }, { _id: 3.5, v: 'three' }, { _id: 's1', v: 's' }] as unknown as Document[]);
    const from = commands.length;
    const found = await findByIds(coll, [1, 2, 3.5, 4, 's1', 's2'], { projection: { v: 1 } }, true);
    expect(found.map((d) => d.v as string).sort()).toEqual(['one', 's', 'three', 'two']);
    const finds = filtersOf(commands.slice(from), 'mixed').map((f) => f.filter);
    expect(finds).toHaveLength(3);
    expect(finds.filter((f) => !onlyIdEquality(f))).toEqual([{ _id: { $in: [1, 2, 3.5, 4] } }]);
  });

  it('pointOnly=true: every read and write of the replace step has the filter {_id} alone: per record one look-up, one re-read right before its command, one replace', async () => {
    const coll = freshDb('shape').collection('lc-data-server.staff');
    const n = 120;
    await coll.insertMany(Array.from({ length: n }, (_, i) => ({ _id: `s${i}`, v: 0, _retention: stamp(ARCHIVE, 'a') })) as Document[]);
    const from = commands.length;
    await upsertBatch(coll, Array.from({ length: n }, (_, i) => ({ _id: `s${i}`, v: 1, _retention: stamp(LATER_ARCHIVE, 'a') })), majority(10_000), undefined, true);
    const filters = filtersOf(commands.slice(from), 'lc-data-server.staff');
    expect(filters.filter((f) => f.command === 'find')).toHaveLength(2 * n);
    expect(filters.filter((f) => f.command === 'update')).toHaveLength(n);
    expect(filters.filter((f) => !onlyIdEquality(f.filter))).toEqual([]);
    expect(await coll.countDocuments({ v: 1, '_retention.archive': LATER_ARCHIVE })).toBe(n);
  });

  it('an import into a database that holds the records already: on FerretDB no record or media look-up or write needs more than {_id}', async () => {
    const db = freshDb('import');
    const day = (v: number): Record<string, string> => ({
      'lc-data-server/staff.json': Array.from({ length: 30 }, (_, i) => JSON.stringify({ _id: `staff-${i}`, staffId: `p${i}`, v })).join('\n'),
      'history/rooms.json': Array.from({ length: 30 }, (_, i) => JSON.stringify({ _id: `room-${i}`, roomId: `r${i}`, v })).join('\n'),
      ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`data-retention/avatar/a${i}.png`, `png ${i}`])),
    });
    const run = async (archive: string, v: number): Promise<void> => {
      const x = await extractedDir(day(v));
      try {
        await applyImport(db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive }, { wtimeoutMs: 10_000, log });
      } finally {
        await x.remove();
      }
    };
    await run(ARCHIVE, 1);
    const from = commands.length;
    await run(LATER_ARCHIVE, 2);
    expect(await db.collection('lc-data-server.staff').countDocuments({ v: 2 })).toBe(30);
    expect(await db.collection('history.rooms').countDocuments({ v: 2 })).toBe(30);
    if (!(await pointQueriesOnly(db))) return; // MongoDB: the conditional replace, an _id index look-up there
    const seen = commands.slice(from);
    for (const collection of ['lc-data-server.staff', 'history.rooms', 'media.files']) {
      const filters = filtersOf(seen, collection).filter((f) => f.command !== 'find' || !('_retention.archive' in (f.filter as Document)));
      expect(filters.length, collection).toBeGreaterThan(0);
      expect(filters.filter((f) => f.command === 'update' || collection === 'media.files').filter((f) => !onlyIdEquality(f.filter)), collection).toEqual([]);
    }
  });
});
