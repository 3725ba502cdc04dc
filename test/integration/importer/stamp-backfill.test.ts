import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_COLLECTION, backfillArchiveTimes } from '../../../proxy/importer/stamp-backfill.js';
import { upsertBatch } from '../../../proxy/importer/upsert-batch.js';
import { majority } from '../../../proxy/db/write-concern.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

const OLD = 'backup_svc1_0b9e0a52-5c1f-4e3a-9d7a-2f4f6c1d8e01_20260301020000.zip';
const NEW = 'backup_svc1_1b9e0a52-5c1f-4e3a-9d7a-2f4f6c1d8e02_20260305020000.zip';
const log = pino({ level: 'silent' });

/**
 * Records stored before `_retention.createdAt` existed: without their archive time, the newest-delivery rule would let
 * an older archive imported after the upgrade replace them. The one-time backfill gives them the time of their archive.
 */
describe('records stored before _retention.createdAt existed', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await testDatabase('backfill');
  });
  afterAll(async () => {
    await tdb.drop();
  });

  it('get their archive time once, and an older archive imported later no longer replaces them', async () => {
    const staff = tdb.db.collection('lc-data-server.staff');
    // As an earlier version stored day 5: no createdAt in the stamp.
    await staff.insertOne({ _id: 's1' as never, displayName: 'Alice (day 5)', _retention: { jobId: 'j5', archive: NEW, entry: 'lc-data-server/staff.json', sha256: 'b'.repeat(64) } });
    await tdb.db.collection('portal.users').insertOne({ _id: 'u' as never, _retention: { archive: NEW } }); // not a record collection: untouched

    expect(await backfillArchiveTimes(tdb.db, 10_000, log)).toBe(1);
    expect((await staff.findOne({ _id: 's1' as never }))?._retention).toMatchObject({ createdAt: new Date('2026-03-05T02:00:00Z') });
    expect((await tdb.db.collection('portal.users').findOne({ _id: 'u' as never }))?._retention).toEqual({ archive: NEW });
    expect(await tdb.db.collection(MIGRATIONS_COLLECTION).countDocuments()).toBe(1);

    // A retry of day 1 after the upgrade: its older delivery must not replace day 5's.
    await upsertBatch(staff, [{ _id: 's1', displayName: 'Alice (day 1)', _retention: { jobId: 'j1', archive: OLD, createdAt: new Date('2026-03-01T02:00:00Z'), entry: 'lc-data-server/staff.json', sha256: 'a'.repeat(64) } }], majority(10_000));
    expect((await staff.findOne({ _id: 's1' as never }))?.displayName).toBe('Alice (day 5)');

    // Once done, later starts skip it (a record left without the field stays as it is).
    await staff.insertOne({ _id: 's2' as never, _retention: { archive: NEW } });
    expect(await backfillArchiveTimes(tdb.db, 10_000, log)).toBe(0);
    expect((await staff.findOne({ _id: 's2' as never }))?._retention).toEqual({ archive: NEW });
  });

  it('two nodes starting at once both succeed (the marker upsert race is not an error)', async () => {
    await tdb.db.collection(MIGRATIONS_COLLECTION).deleteMany({});
    await expect(Promise.all([backfillArchiveTimes(tdb.db, 10_000, log), backfillArchiveTimes(tdb.db, 10_000, log)])).resolves.toHaveLength(2);
    expect(await tdb.db.collection(MIGRATIONS_COLLECTION).countDocuments()).toBe(1);
  });
});
