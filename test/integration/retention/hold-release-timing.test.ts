import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import { RETENTION_COLLECTIONS } from '../../../proxy/retention/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { generateRetentionData, type GeneratedData } from '../../helpers/retention-data.js';
import { heldBy } from './oracle.js';

describe('retention: releasing a hold takes effect at the next run, not within the run under way', () => {
  let t: TestDatabase;
  let data: GeneratedData;
  let svc: RetentionService;
  beforeAll(async () => {
    t = await testDatabase('ret_release');
    data = await generateRetentionData(t.db, 97, 1.5);
    svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 10_000, nodeId: 'test', batchPauseMs: 0, now: () => data.now });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('a hold released after the run started still protects its data in that run; the next run destroys it', async () => {
    const hold = await svc.createHold({ name: 'Matter R', reason: 'claim', scope: { rooms: ['r1', 'r2'] } }, 'admin');
    const isHeld = heldBy(data, [hold]);
    const heldIds = (data.docs.get(RECORD_COLLECTIONS.messages) ?? []).filter((d) => isHeld('messages', d)).map((d) => d._id as string);
    expect(heldIds.length).toBeGreaterThan(0);
    await svc.createPolicy({ id: 'msgs', name: 'Messages', dataType: 'messages', scope: { kind: 'all' }, activeDays: 1, archiveDays: 0 }, 'admin');
    await svc.setPolicyMode('msgs', 'enforce', 'Messages', 'admin');
    // Released during the run: after its start (the service's clock is data.now).
    await t.db.collection(RETENTION_COLLECTIONS.holds).updateOne({ _id: hold._id as never }, { $set: { releasedAt: new Date(data.now.getTime() + 1_000), releasedBy: 'admin', releaseReason: 'settled' } });
    const during = await svc.run({ trigger: 'manual', requestedBy: 'test' });
    expect(during.errors).toEqual([]);
    expect(await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ _id: { $in: heldIds as never[] } })).toBe(heldIds.length);

    const later = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 10_000, nodeId: 'test', batchPauseMs: 0, now: () => new Date(data.now.getTime() + 60_000) });
    const next = await later.run({ trigger: 'manual', requestedBy: 'test' });
    expect(next.errors).toEqual([]);
    expect(await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ _id: { $in: heldIds as never[] } })).toBe(0);
  });
});
