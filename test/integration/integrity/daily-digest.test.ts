import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestImportedDays } from '../../../proxy/integrity/daily-digest.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

const log = pino({ level: 'silent' });
const NOW = new Date('2026-03-10T12:00:00Z');

describe('the digests made after a sync cycle', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('dailydigest');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('also makes the digest of a recent day whose imported archive no digest covers (lost to a crash), once', async () => {
    const jobs = t.db.collection<{ _id: string; archiveCreatedAt: Date; state: string }>('proxy.jobs');
    await jobs.insertMany([
      { _id: 'backup_svc-1_a_20260308020000.zip', archiveCreatedAt: new Date('2026-03-08T02:00:00Z'), state: 'reported' },
      { _id: 'backup_svc-1_b_20260309020000.zip', archiveCreatedAt: new Date('2026-03-09T02:00:00Z'), state: 'imported' },
      { _id: 'backup_svc-1_c_20260309030000.zip', archiveCreatedAt: new Date('2026-03-09T03:00:00Z'), state: 'failed' },
      { _id: 'backup_svc-1_d_20250101020000.zip', archiveCreatedAt: new Date('2025-01-01T02:00:00Z'), state: 'reported' }, // too old to catch up
    ]);
    // 03-08 was digested when it was imported; 03-09's digest was lost; this cycle imported nothing.
    await t.db.collection('integrity.digests').insertOne({ v: 1, day: '2026-03-08', archives: ['backup_svc-1_a_20260308020000.zip'] });
    expect(await digestImportedDays(t.db, log, 'site-a', [], () => NOW)).toEqual(['2026-03-09']);
    const made = await t.db.collection('integrity.digests').findOne({ day: '2026-03-09' });
    expect(made).toMatchObject({ archives: ['backup_svc-1_b_20260309020000.zip'] });
    expect(await digestImportedDays(t.db, log, 'site-a', [], () => NOW)).toEqual([]);
    expect(await t.db.collection('integrity.digests').countDocuments({ day: '2026-03-09' })).toBe(1);
  });
});
