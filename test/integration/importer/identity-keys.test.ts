import type { Db } from 'mongodb';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { applyImport, planImport } from '../../../proxy/importer/index.js';
import { ImportIdentityKeys } from '../../../proxy/importer/identity-keys.js';
import { SUPERSEDED_FIELD } from '../../../proxy/importer/identity.js';
import { stampRecord } from '../../../proxy/importer/record-document.js';
import { setPointQueriesForTests } from '../../../proxy/importer/point-queries.js';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { useMonitoredClient } from '../../helpers/db.js';
import { extractedDir } from './extracted-dir.js';

const log = pino({ level: 'silent' });
const JOB = (d: number): string => `0b7f3c1e-2a4d-4e8f-9c1a-5d6e7f8a9b0${d}`;
const ARCHIVE = (d: number): string => `backup_svc-1_${JOB(d)}_2024050${d}020000.zip`;
const BEN = 'c0000000-0000-4000-8000-000000000001';
const GRACE = 'c0000000-0000-4000-8000-000000000002';
const IDENTITY: readonly string[] = [RECORD_COLLECTIONS.staff, RECORD_COLLECTIONS.contacts, RECORD_COLLECTIONS.rooms];
interface Rec { _id: string; [field: string]: unknown }

const contact = (id: string, contactId: string, name: string): string => JSON.stringify({ _id: id, contactId, name });
const staff = (id: string, name: string): string => JSON.stringify({ _id: id, staffId: `staff-${id}`, name });
const room = (id: string, name: string): string => JSON.stringify({ _id: id, roomId: `room-${id}`, name });

async function importDay(db: Db, day: number, files: Record<string, string[]>, signal?: AbortSignal, onProgress?: () => void, batchSize?: number): Promise<void> {
  const x = await extractedDir(Object.fromEntries(Object.entries(files).map(([path, lines]) => [path, `${lines.join('\n')}\n`])));
  try {
    const plan = await planImport(x.dir, x.entries, log);
    await applyImport(db, x.dir, plan, { jobId: JOB(day), archive: ARCHIVE(day) }, { wtimeoutMs: 10_000, log, ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}), ...(batchSize ? { batchSize } : {}) });
  } finally {
    await x.remove();
  }
}

/** `_id`s of the current (not superseded) versions of a contact. */
async function current(db: Db, contactId: string): Promise<string[]> {
  const docs = await db.collection<Rec>(RECORD_COLLECTIONS.contacts).find({ contactId, [SUPERSEDED_FIELD]: { $ne: true } }, { projection: { _id: 1 } }).toArray();
  return docs.map((d) => String(d._id)).sort();
}

/** Imports `day`, aborting it once its records are written: its identity refresh never runs (a crash there). */
async function interrupted(db: Db, day: number, files: Record<string, string[]>, batchSize?: number): Promise<void> {
  const abort = new AbortController();
  await expect(importDay(db, day, files, abort.signal, () => abort.abort(), batchSize)).rejects.toThrow();
}

/**
 * The identity refresh after an import judges the business ids its writes delivered or took a version from, known
 * from the writes (identity-keys.ts), instead of reading the archive's records back by archive name.
 */
describe('identity refresh: the business ids an import touched, from its writes', () => {
  const m = useMonitoredClient('identity_keys');

  for (const pointOnly of [true, false]) {
    const mode = pointOnly ? 'FerretDB mode' : 'MongoDB mode';

    it(`${mode}: no read of staff, contacts or rooms by archive name; every delivered business id judged, a contact under a new _id superseding its old version`, async () => {
      setPointQueriesForTests(m.client, pointOnly);
      const db = m.freshDb(pointOnly ? 'standing_p' : 'standing_m');
      await importDay(db, 1, {
        'lc-data-server/staff.json': [staff('s1', 'Ann'), staff('s2', 'Bo')],
        'dynamic-phonebook/contacts.json': [contact('x1', BEN, 'Ben Yip'), contact('g1', GRACE, 'Grace Lau')],
        'history/rooms.json': [room('r1', 'Sales'), room('r2', 'Support')],
      });
      m.commands.length = 0;
      await importDay(db, 2, {
        'lc-data-server/staff.json': [staff('s1', 'Ann Lee'), staff('s2', 'Bo')],
        'dynamic-phonebook/contacts.json': [contact('x2', BEN, 'Ben Yip'), contact('g1', GRACE, 'Grace Lau-Chan')],
        'history/rooms.json': [room('r1', 'Sales'), room('r2', 'Support desk')],
      });
      const finds = m.commands.filter((c) => c.commandName === 'find' && IDENTITY.includes(String(c.command.find)));
      expect(finds.filter((c) => '_retention.archive' in (c.command.filter as object))).toEqual([]);
      // Every other read is by `_id` (the replace path) or by business id (the refresh: one per collection here).
      const byKey = finds.filter((c) => Object.keys(c.command.filter as object).some((k) => k !== '_id'));
      expect(byKey.map((c): unknown => c.command.find).sort()).toEqual([...IDENTITY].sort());
      if (!pointOnly) expect(byKey.find((c) => c.command.find === RECORD_COLLECTIONS.contacts)?.command.filter).toMatchObject({ contactId: { $in: expect.arrayContaining([BEN, GRACE]) as unknown } });
      expect(await current(db, BEN)).toEqual(['x2']);
      expect(await current(db, GRACE)).toEqual(['g1']);
      for (const c of [RECORD_COLLECTIONS.staff, RECORD_COLLECTIONS.rooms]) expect(await db.collection(c).countDocuments({ [SUPERSEDED_FIELD]: true }), c).toBe(0);
      expect(await db.collection<Rec>(RECORD_COLLECTIONS.staff).findOne({ _id: 's1' })).toMatchObject({ name: 'Ann Lee' });
    });

    it(`${mode}: two current versions (a race, an interruption) are repaired by the next delivery under one of their _ids`, async () => {
      setPointQueriesForTests(m.client, pointOnly);
      const db = m.freshDb(pointOnly ? 'heal_p' : 'heal_m');
      await importDay(db, 1, { 'dynamic-phonebook/contacts.json': [contact('x1', BEN, 'Ben Yip')] });
      // Day 2's version stored as an import writes it, its refresh never run.
      const doc = stampRecord({ _id: 'x2', contactId: BEN, name: 'Ben Yip' }, { jobId: JOB(2), archive: ARCHIVE(2) }, 'dynamic-phonebook/contacts.json');
      await db.collection<Rec>(RECORD_COLLECTIONS.contacts).insertOne(doc as Rec);
      expect(await current(db, BEN)).toEqual(['x1', 'x2']);
      await importDay(db, 3, { 'dynamic-phonebook/contacts.json': [contact('x2', BEN, 'Ben Yip')] });
      expect(await current(db, BEN)).toEqual(['x2']);
    });

    it(`${mode}: an import interrupted before its refresh, imported again, leaves one current version, a record repeated in other batches included`, async () => {
      setPointQueriesForTests(m.client, pointOnly);
      const db = m.freshDb(pointOnly ? 'replay_p' : 'replay_m');
      await importDay(db, 1, { 'dynamic-phonebook/contacts.json': [contact('x1', BEN, 'Ben Yip'), contact('g1', GRACE, 'Grace Lau')] });
      // One record a batch: x2 is inserted, then replaced by its later copy (same archive, other content).
      const day2 = { 'dynamic-phonebook/contacts.json': [contact('x2', BEN, 'Ben Yip'), contact('g2', GRACE, 'Grace Lau'), contact('x2', BEN, 'Ben Yip (2)')] };
      await interrupted(db, 2, day2, 1);
      expect(await current(db, BEN)).toEqual(['x1', 'x2']);
      await importDay(db, 2, day2, undefined, undefined, 1);
      expect(await current(db, BEN)).toEqual(['x2']);
      expect(await current(db, GRACE)).toEqual(['g2']);
    });

    it(`${mode}: a superseded version re-delivered by a newer archive becomes current, the other one superseded`, async () => {
      setPointQueriesForTests(m.client, pointOnly);
      const db = m.freshDb(pointOnly ? 'back_p' : 'back_m');
      await importDay(db, 1, { 'dynamic-phonebook/contacts.json': [contact('x1', BEN, 'Ben Yip')] });
      await importDay(db, 2, { 'dynamic-phonebook/contacts.json': [contact('x2', BEN, 'Ben Yip')] });
      expect(await current(db, BEN)).toEqual(['x2']);
      await importDay(db, 3, { 'dynamic-phonebook/contacts.json': [contact('x1', BEN, 'Ben Yip (back)')] });
      expect(await current(db, BEN)).toEqual(['x1']);
    });

    it(`${mode}: a record whose business id changes under its _id leaves the old business id its remaining version, interrupted or not`, async () => {
      setPointQueriesForTests(m.client, pointOnly);
      const db = m.freshDb(pointOnly ? 'moved_p' : 'moved_m');
      await importDay(db, 1, { 'dynamic-phonebook/contacts.json': [contact('x0', BEN, 'Ben Yip')] });
      await importDay(db, 2, { 'dynamic-phonebook/contacts.json': [contact('x1', BEN, 'Ben Yip')] });
      expect(await current(db, BEN)).toEqual(['x1']);
      const day3 = { 'dynamic-phonebook/contacts.json': [contact('x1', GRACE, 'Grace Lau')] };
      // Interrupted after the replace: Ben is still listed (his older version was made current before it).
      await interrupted(db, 3, day3);
      expect(await current(db, BEN)).toEqual(['x0']);
      await importDay(db, 3, day3);
      expect(await current(db, GRACE)).toEqual(['x1']);
      expect(await current(db, BEN)).toEqual(['x0']);
    });

    it(`${mode}: the business id a record leaves is judged reading every version: two current ones left behind end as one`, async () => {
      setPointQueriesForTests(m.client, pointOnly);
      const db = m.freshDb(pointOnly ? 'left_p' : 'left_m');
      await importDay(db, 3, { 'dynamic-phonebook/contacts.json': [contact('x3', BEN, 'Ben Yip')] });
      // Two older versions of Ben, both unmarked (a race once left them so), x3 current.
      const stamp = (id: string, day: number): Rec => stampRecord({ _id: id, contactId: BEN, name: 'Ben Yip' }, { jobId: JOB(day), archive: ARCHIVE(day) }, 'dynamic-phonebook/contacts.json') as Rec;
      await db.collection<Rec>(RECORD_COLLECTIONS.contacts).insertMany([stamp('x1', 1), stamp('x2', 2)]);
      await importDay(db, 4, { 'dynamic-phonebook/contacts.json': [contact('x3', GRACE, 'Grace Lau')] });
      expect(await current(db, GRACE)).toEqual(['x3']);
      expect(await current(db, BEN)).toEqual(['x2']);
    });
  }

  it('past its limit a collection is read back by archive name (delivered) or walked (left), with the same marks', async () => {
    setPointQueriesForTests(m.client, true);
    const db = m.freshDb('cap');
    const rooms = db.collection<Rec>(RECORD_COLLECTIONS.rooms);
    const old = { createdAt: new Date(Date.UTC(2024, 4, 1, 2)), archive: ARCHIVE(1) };
    const now = { createdAt: new Date(Date.UTC(2024, 4, 2, 2)), archive: ARCHIVE(2) };
    await rooms.insertMany([{ _id: 'a1', roomId: 'A', _retention: old }, { _id: 'b1', roomId: 'B', _retention: old }, { _id: 'c0', roomId: 'C', _retention: old }]);
    // c0 is marked superseded by hand (stored that way by an earlier refresh); C's current version moves to D below.
    await rooms.updateOne({ _id: 'c0' }, { $set: { [SUPERSEDED_FIELD]: true } });
    const fresh = [{ _id: 'a2', roomId: 'A', _retention: now }, { _id: 'b2', roomId: 'B', _retention: now }, { _id: 'c1', roomId: 'D', _retention: now }];
    await rooms.insertMany(fresh);
    const keys = new ImportIdentityKeys(db, { w: 'majority', wtimeout: 10_000 }, 1);
    const hooks = keys.hooksFor(RECORD_COLLECTIONS.rooms);
    hooks?.inserted?.(fresh.slice(0, 2));
    hooks?.judged?.([{ stored: { _id: 'c1', roomId: 'C' }, incoming: fresh[2] as Rec }, { stored: { _id: 'e1', roomId: 'E' }, incoming: { _id: 'e1', roomId: 'F' } }], []);
    // (beforeReplace, which would unmark c0 before the replace, is left out: the walk alone must do it.)
    m.commands.length = 0;
    const out = await keys.refresh(ARCHIVE(2));
    expect(out).toMatchObject({ readBack: [RECORD_COLLECTIONS.rooms], walked: [RECORD_COLLECTIONS.rooms] });
    const finds = m.commands.filter((c) => c.commandName === 'find' && c.command.find === RECORD_COLLECTIONS.rooms);
    expect(finds.some((c) => '_retention.archive' in (c.command.filter as object))).toBe(true);
    // The walk: every room id of the collection, in order.
    expect(finds.some((c) => (c.command.filter as { roomId?: { $type?: unknown } }).roomId?.$type === 'string')).toBe(true);
    expect((await rooms.find({ [SUPERSEDED_FIELD]: true }).toArray()).map((d) => d._id).sort()).toEqual(['a1', 'b1']);
  });
});
