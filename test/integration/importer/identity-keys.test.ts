import type { Db } from 'mongodb';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { applyImport, planImport } from '../../../proxy/importer/index.js';
import { ImportIdentityKeys } from '../../../proxy/importer/identity-keys.js';
import { SUPERSEDED_FIELD } from '../../../proxy/importer/identity.js';
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

async function importDay(db: Db, day: number, files: Record<string, string[]>, signal?: AbortSignal, onProgress?: () => void): Promise<void> {
  const x = await extractedDir(Object.fromEntries(Object.entries(files).map(([path, lines]) => [path, `${lines.join('\n')}\n`])));
  try {
    const plan = await planImport(x.dir, x.entries, log);
    await applyImport(db, x.dir, plan, { jobId: JOB(day), archive: ARCHIVE(day) }, { wtimeoutMs: 10_000, log, ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) });
  } finally {
    await x.remove();
  }
}

/** `_id`s of the current (not superseded) versions of a contact. */
async function current(db: Db, contactId: string): Promise<string[]> {
  const docs = await db.collection<Rec>(RECORD_COLLECTIONS.contacts).find({ contactId, [SUPERSEDED_FIELD]: { $ne: true } }, { projection: { _id: 1 } }).toArray();
  return docs.map((d) => String(d._id)).sort();
}

/**
 * The identity refresh after an import looks up only the business ids whose versions the import changed, known from
 * its own writes (identity-keys.ts), instead of reading the archive back by name and every business id it delivered.
 */
describe('identity refresh: the business ids an import changed, from its writes', () => {
  const m = useMonitoredClient('identity_keys');

  for (const pointOnly of [true, false]) {
    const mode = pointOnly ? 'FerretDB mode' : 'MongoDB mode';

    it(`${mode}: standing staff, contacts and rooms re-delivered under their own _id are not looked up; a contact under a new _id is, and its old version superseded`, async () => {
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
      // Every read of an identity collection by anything but `_id` (the replace path's own reads are by `_id`).
      const reads = m.commands.filter((c) => c.commandName === 'find' && IDENTITY.includes(String(c.command.find)) && Object.keys((c.command.filter ?? {}) as object).some((k) => k !== '_id'));
      expect(reads.map((c): unknown => c.command.find)).toEqual([RECORD_COLLECTIONS.contacts]);
      if (!pointOnly) expect(reads[0]?.command.filter).toMatchObject({ contactId: BEN });
      expect(await current(db, BEN)).toEqual(['x2']);
      expect(await current(db, GRACE)).toEqual(['g1']);
      for (const c of [RECORD_COLLECTIONS.staff, RECORD_COLLECTIONS.rooms]) expect(await db.collection(c).countDocuments({ [SUPERSEDED_FIELD]: true }), c).toBe(0);
      expect(await db.collection<Rec>(RECORD_COLLECTIONS.staff).findOne({ _id: 's1' })).toMatchObject({ name: 'Ann Lee' });
    });

    it(`${mode}: an import interrupted before its refresh, imported again, leaves one current version (the replay meets its own records)`, async () => {
      setPointQueriesForTests(m.client, pointOnly);
      const db = m.freshDb(pointOnly ? 'replay_p' : 'replay_m');
      await importDay(db, 1, { 'dynamic-phonebook/contacts.json': [contact('x1', BEN, 'Ben Yip')] });
      const abort = new AbortController();
      // Aborted once the records are written: the refresh that follows stops before its first mark.
      await expect(importDay(db, 2, { 'dynamic-phonebook/contacts.json': [contact('x2', BEN, 'Ben Yip')] }, abort.signal, () => abort.abort())).rejects.toThrow();
      expect(await current(db, BEN)).toEqual(['x1', 'x2']);
      await importDay(db, 2, { 'dynamic-phonebook/contacts.json': [contact('x2', BEN, 'Ben Yip')] });
      expect(await current(db, BEN)).toEqual(['x2']);
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

    it(`${mode}: a record whose business id changes under its _id leaves the old business id its remaining version as current`, async () => {
      setPointQueriesForTests(m.client, pointOnly);
      const db = m.freshDb(pointOnly ? 'moved_p' : 'moved_m');
      await importDay(db, 1, { 'dynamic-phonebook/contacts.json': [contact('x0', BEN, 'Ben Yip')] });
      await importDay(db, 2, { 'dynamic-phonebook/contacts.json': [contact('x1', BEN, 'Ben Yip')] });
      expect(await current(db, BEN)).toEqual(['x1']);
      await importDay(db, 3, { 'dynamic-phonebook/contacts.json': [contact('x1', GRACE, 'Grace Lau')] });
      expect(await current(db, GRACE)).toEqual(['x1']);
      expect(await current(db, BEN)).toEqual(['x0']);
    });
  }

  it('past its key limit a collection is read back by archive name, with the same marks', async () => {
    setPointQueriesForTests(m.client, true);
    const db = m.freshDb('cap');
    const rooms = db.collection<Rec>(RECORD_COLLECTIONS.rooms);
    const old = { createdAt: new Date(Date.UTC(2024, 4, 1, 2)), archive: ARCHIVE(1) };
    const now = { createdAt: new Date(Date.UTC(2024, 4, 2, 2)), archive: ARCHIVE(2) };
    await rooms.insertMany([{ _id: 'a1', roomId: 'A', _retention: old }, { _id: 'b1', roomId: 'B', _retention: old }]);
    const fresh = [{ _id: 'a2', roomId: 'A', _retention: now }, { _id: 'b2', roomId: 'B', _retention: now }];
    await rooms.insertMany(fresh);
    const keys = new ImportIdentityKeys(1);
    keys.hooksFor(RECORD_COLLECTIONS.rooms)?.inserted?.(fresh);
    m.commands.length = 0;
    const out = await keys.refresh(db, ARCHIVE(2), { w: 'majority', wtimeout: 10_000 });
    expect(out.readBack).toEqual([RECORD_COLLECTIONS.rooms]);
    expect(m.commands.some((c) => c.commandName === 'find' && c.command.find === RECORD_COLLECTIONS.rooms && '_retention.archive' in (c.command.filter as object))).toBe(true);
    expect((await rooms.find({ [SUPERSEDED_FIELD]: true }).toArray()).map((d) => d._id).sort()).toEqual(['a1', 'b1']);
  });
});
