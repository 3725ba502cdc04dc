import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { generateRetentionData, type GeneratedData } from '../../helpers/retention-data.js';

describe('retention: a policy change never takes effect without a dry-run', () => {
  let t: TestDatabase;
  let data: GeneratedData;
  beforeAll(async () => {
    t = await testDatabase('ret_polchange');
    data = await generateRetentionData(t.db, 5, 2);
  });
  afterAll(async () => {
    await t.drop();
  });

  it('shortening or re-scoping an enforcing policy puts it back in dry-run; a longer period or a new name does not', async () => {
    const svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 10_000, nodeId: 'test', now: () => data.now });
    await svc.createPolicy({ id: 'calls', name: 'Calls', dataType: 'calls', scope: { kind: 'all' }, activeDays: 400, archiveDays: 400 }, 'admin');
    await svc.setPolicyMode('calls', 'enforce', 'Calls', 'admin');
    expect(await svc.updatePolicy('calls', { name: 'Calls (all)', activeDays: 500 }, 'admin')).toMatchObject({ mode: 'enforce' });
    const shorter = await svc.updatePolicy('calls', { archiveDays: 100 }, 'admin');
    expect(shorter.mode).toBe('dry-run');
    expect(shorter.enforcedAt).toBeUndefined();
    await svc.setPolicyMode('calls', 'enforce', 'Calls (all)', 'admin');
    expect(await svc.updatePolicy('calls', { scope: { kind: 'room', ids: ['r1'] } }, 'admin')).toMatchObject({ mode: 'dry-run' });
    await svc.deletePolicy('calls', 'admin');
  });

  it('a policy changed during an enforcing run stops the run with POLICY_CHANGED before its next batch', async () => {
    const svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 10_000, nodeId: 'test', batchSize: 1, batchPauseMs: 100, now: () => data.now });
    await svc.createPolicy({ id: 'msgs', name: 'Messages', dataType: 'messages', scope: { kind: 'all' }, activeDays: 1, archiveDays: 4000 }, 'admin');
    await svc.setPolicyMode('msgs', 'enforce', 'Messages', 'admin');
    const before = await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ _archived: { $exists: false } });
    expect(before).toBeGreaterThan(10);
    const { runId } = await svc.startRun({ trigger: 'manual', requestedBy: 'test' });
    for (let i = 0; i < 100 && (await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ _archived: { $exists: true } })) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await svc.updatePolicy('msgs', { archiveDays: 4500 }, 'admin')).toMatchObject({ mode: 'enforce' });
    await svc.idle();
    const run = await svc.getRun(runId);
    expect(run.state).toBe('failed');
    expect(run.errors.map((e) => e.code)).toContain('POLICY_CHANGED');
    expect(await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ _archived: { $exists: false } })).toBeGreaterThan(0);
  });
});
