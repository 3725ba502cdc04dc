import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

interface Doc { _id: string; [k: string]: unknown }
const DAY = 86_400_000;

describe('retention: a media policy never touches a binary another file record still needs', () => {
  let t: TestDatabase;
  let svc: RetentionService;
  const now = new Date();
  beforeAll(async () => {
    t = await testDatabase('ret_media_shared');
    svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 1_000, nodeId: 'test', batchPauseMs: 0, now: () => now });
    const files = t.db.collection<Doc>(RECORD_COLLECTIONS.files);
    for (const p of ['data-retention/voicemail/shared.wav', 'data-retention/voicemail/alone.wav']) {
      await t.db.collection<Doc>('media.files').insertOne({ _id: p, length: 3, chunkSize: 255 * 1024, uploadDate: now, filename: p, metadata: { sha256: 'x' } });
      await t.db.collection('media.chunks').insertOne({ files_id: p, n: 0, data: Buffer.from('abc') });
    }
    await files.insertMany([
      { _id: 'f-old', fileId: 'f-old', category: 'voicemail', roomId: 'r1', uploadedAt: new Date(now.getTime() - 100 * DAY), storagePath: 'data-retention/voicemail/shared.wav' },
      { _id: 'f-new', fileId: 'f-new', category: 'voicemail', roomId: 'r1', uploadedAt: new Date(now.getTime() - DAY), storagePath: 'data-retention/voicemail/shared.wav' },
      { _id: 'f-alone', fileId: 'f-alone', category: 'voicemail', roomId: 'r1', uploadedAt: new Date(now.getTime() - 100 * DAY), storagePath: 'data-retention/voicemail/alone.wav' },
    ]);
  });
  afterAll(async () => {
    await t.drop();
  });

  it('destroys the binary only the due record references and keeps the one a recent record shares', async () => {
    await svc.createPolicy({ id: 'vm', name: 'Voicemail', dataType: 'media:voicemail', scope: { kind: 'all' }, activeDays: 30, archiveDays: 0 }, 'admin');
    await svc.setPolicyMode('vm', 'enforce', 'Voicemail', 'admin');
    const run = await svc.run({ trigger: 'manual', requestedBy: 'test' });
    expect(run.errors).toEqual([]);
    expect(await t.db.collection<Doc>('media.files').findOne({ _id: 'data-retention/voicemail/shared.wav' })).not.toBeNull();
    expect(await t.db.collection('media.chunks').countDocuments({ files_id: 'data-retention/voicemail/shared.wav' })).toBe(1);
    expect(await t.db.collection<Doc>('media.files').findOne({ _id: 'data-retention/voicemail/alone.wav' })).toBeNull();
    expect(await t.db.collection('media.chunks').countDocuments({ files_id: 'data-retention/voicemail/alone.wav' })).toBe(0);
  });
});

describe('retention: the status of a media item follows its file record\'s archive mark', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('ret_media_status');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('an archived file record whose binary is not archived reports archived (so no auditor sees it)', async () => {
    const svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 1_000, nodeId: 'test' });
    const path = 'data-retention/room-file/f1.pdf';
    const mark = { runId: 'run-1', policyId: 'files', at: new Date() };
    await t.db.collection<Doc>('media.files').insertOne({ _id: path, length: 3, chunkSize: 1024, uploadDate: new Date(), filename: path, metadata: { sha256: 'x' } });
    await t.db.collection<Doc>(RECORD_COLLECTIONS.files).insertOne({ _id: 'f1', fileId: 'f1', category: 'room-file', roomId: 'r1', uploadedAt: new Date(), storagePath: path, _archived: mark });
    expect((await svc.recordStatus('media:room-file', path)).archived).toEqual(mark);
  });
});
