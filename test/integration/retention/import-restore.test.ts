import { BSON, type Document } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import { tombstoneId } from '../../../proxy/retention/tombstones.js';
import { RETENTION_COLLECTIONS } from '../../../proxy/retention/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { importSimulatorDayWithResult } from '../../helpers/portal-data.js';
import { mediaSha256 } from '../../helpers/retention-data.js';

const ej = (d: unknown): string => BSON.EJSON.stringify(d, { relaxed: false });
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('retention with the real importer: destroyed records stay destroyed, restore is byte-identical', () => {
  let t: TestDatabase;
  let svc: RetentionService;
  beforeAll(async () => {
    t = await testDatabase('ret_import');
    await importSimulatorDayWithResult(t.db, { records: 300, mediaBytes: 64 * 1024 });
    svc = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'test', batchSize: 13, batchPauseMs: 0 });
    await svc.ensureIndexes();
  });
  afterAll(async () => {
    await t.drop();
  });

  it('a re-import of the same archive skips every destroyed record and binary, reports the count, and keeps archive marks', async () => {
    const calls = await t.db.collection(RECORD_COLLECTIONS.calls).find({}).toArray();
    const files = await t.db.collection(RECORD_COLLECTIONS.files).find({}).toArray();
    expect(calls.length).toBeGreaterThan(3);
    await svc.createPolicy({ id: 'calls-gone', name: 'Calls gone', dataType: 'calls', scope: { kind: 'all' }, activeDays: 1, archiveDays: 0 }, 'admin');
    await svc.setPolicyMode('calls-gone', 'enforce', 'Calls gone', 'admin');
    await svc.createPolicy({ id: 'files-gone', name: 'Files gone', dataType: 'files', scope: { kind: 'all' }, activeDays: 1, archiveDays: 0 }, 'admin');
    await svc.setPolicyMode('files-gone', 'enforce', 'Files gone', 'admin');
    await svc.createPolicy({ id: 'msgs-archived', name: 'Messages archived', dataType: 'messages', scope: { kind: 'all' }, activeDays: 1, archiveDays: 4000 }, 'admin');
    await svc.setPolicyMode('msgs-archived', 'enforce', 'Messages archived', 'admin');
    const run = await svc.run({ trigger: 'manual', requestedBy: 'test' });
    expect(run.errors).toEqual([]);
    expect(await t.db.collection(RECORD_COLLECTIONS.calls).countDocuments({})).toBe(0);
    expect(await t.db.collection(RECORD_COLLECTIONS.files).countDocuments({})).toBe(0);
    expect(await t.db.collection('media.files').countDocuments({ _id: { $in: files.map((f) => f.storagePath as string) } } as Document)).toBe(0);
    expect(await t.db.collection('media.chunks').countDocuments({ files_id: { $in: files.map((f) => f.storagePath as string) } })).toBe(0);
    for (const c of calls) expect((await t.db.collection(RETENTION_COLLECTIONS.tombstones).findOne({ _id: tombstoneId(RECORD_COLLECTIONS.calls, c._id) as never }))?.sha256).toBe((c._retention as { sha256: string }).sha256);
    const archivedBefore = await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ _archived: { $exists: true } });
    expect(archivedBefore).toBeGreaterThan(0);

    const again = await importSimulatorDayWithResult(t.db, { records: 300, mediaBytes: 64 * 1024 });
    expect(again.result.skippedTombstoned[RECORD_COLLECTIONS.calls]).toBe(calls.length);
    expect(again.result.skippedTombstoned[RECORD_COLLECTIONS.files]).toBe(files.length);
    expect(again.result.skippedTombstoned['media.files']).toBe(new Set(files.map((f): unknown => f.storagePath)).size);
    expect(await t.db.collection(RECORD_COLLECTIONS.calls).countDocuments({})).toBe(0);
    expect(await t.db.collection(RECORD_COLLECTIONS.files).countDocuments({})).toBe(0);
    expect(await t.db.collection('media.files').countDocuments({ _id: { $in: files.map((f) => f.storagePath as string) } } as Document)).toBe(0);
    // Archived messages came again with the archive and stayed archived.
    expect(await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ _archived: { $exists: true } })).toBe(archivedBefore);
  });

  it('restoring one record and a whole run gives back byte-identical records and media (sha256 equal)', async () => {
    const t2 = await testDatabase('ret_restore');
    try {
      await importSimulatorDayWithResult(t2.db, { records: 300, mediaBytes: 64 * 1024 });
      const s2 = new RetentionService({ db: t2.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'test', batchSize: 11, batchPauseMs: 0 });
      const before = new Map<string, string>();
      for (const c of Object.values(RECORD_COLLECTIONS)) for (const d of await t2.db.collection(c).find({}).toArray()) before.set(`${c}|${ej(d._id)}`, ej(d));
      const mediaBefore = new Map<string, string>();
      for (const m of await t2.db.collection<{ _id: string }>('media.files').find({}).toArray()) mediaBefore.set(m._id, await mediaSha256(t2.db, m._id));
      const types = ['enquiries', 'rooms', 'messages', 'calls', 'conferences', 'files', 'staff', 'contacts', 'media:call-recording', 'media:voicemail', 'media:room-file', 'media:avatar'] as const;
      for (const [i, dataType] of types.entries()) {
        await s2.createPolicy({ id: `r${i}`, name: `R${i}`, dataType, scope: { kind: 'all' }, activeDays: 1, archiveDays: 4000 }, 'admin');
        await s2.setPolicyMode(`r${i}`, 'enforce', `R${i}`, 'admin');
      }
      const run = await s2.run({ trigger: 'manual', requestedBy: 'test' });
      expect(run.errors).toEqual([]);
      const archived = await t2.db.collection(RECORD_COLLECTIONS.calls).findOne({ _archived: { $exists: true } });
      expect(archived).not.toBeNull();
      expect(await t2.db.collection('media.files').countDocuments({ 'metadata.archived': { $exists: true } })).toBeGreaterThan(0);

      await expect(s2.restoreRecord('calls', String(archived?.callId), '', 'admin')).rejects.toMatchObject({ code: 'VALIDATION' });
      expect(await s2.restoreRecord('calls', String(archived?.callId), 'needed for a complaint', 'admin')).toEqual({ restored: 1 });
      await expect(s2.restoreRecord('calls', String(archived?.callId), 'again', 'admin')).rejects.toMatchObject({ code: 'NOT_ARCHIVED' });
      const one = await t2.db.collection(RECORD_COLLECTIONS.calls).findOne({ _id: archived?._id });
      expect(ej(one)).toBe(before.get(`${RECORD_COLLECTIONS.calls}|${ej(archived?._id)}`));

      const back = await s2.restoreRun(run._id, 'policy set up by mistake', 'admin');
      expect(back.restored).toBeGreaterThan(10);
      for (const c of Object.values(RECORD_COLLECTIONS)) {
        for (const d of await t2.db.collection(c).find({}).toArray()) expect(ej(d), `${c} ${ej(d._id)}`).toBe(before.get(`${c}|${ej(d._id)}`));
      }
      for (const [path, sha] of mediaBefore) {
        const m = await t2.db.collection<{ _id: string; metadata?: Document }>('media.files').findOne({ _id: path });
        expect(m?.metadata?.archived).toBeUndefined();
        expect(await mediaSha256(t2.db, path)).toBe(sha);
      }
      expect((await s2.getRun(run._id)).restoredBy).toBe('admin');
    } finally {
      await t2.drop();
    }
  });
});
