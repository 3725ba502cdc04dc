import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { generateRetentionData, type GeneratedData } from '../../helpers/retention-data.js';
import { heldBy } from './oracle.js';

describe('retention: a hold placed while an enforcing run is under way', () => {
  let t: TestDatabase;
  let data: GeneratedData;
  beforeAll(async () => {
    t = await testDatabase('ret_holdrace');
    data = await generateRetentionData(t.db, 31, 2);
  });
  afterAll(async () => {
    await t.drop();
  });

  it('once placement has answered, no record it covers is destroyed by the rest of the run', async () => {
    const svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 10_000, nodeId: 'test', batchSize: 2, batchPauseMs: 20, now: () => data.now });
    await svc.createPolicy({ id: 'msgs', name: 'Messages', dataType: 'messages', scope: { kind: 'all' }, activeDays: 1, archiveDays: 0 }, 'admin');
    await svc.setPolicyMode('msgs', 'enforce', 'Messages', 'admin');
    const messages = t.db.collection(RECORD_COLLECTIONS.messages);
    const total = await messages.countDocuments({});
    const { runId } = await svc.startRun({ trigger: 'manual', requestedBy: 'test' });
    for (let i = 0; i < 200 && (await messages.countDocuments({})) === total; i++) await new Promise((r) => setTimeout(r, 10));
    const hold = await svc.createHold({ name: 'Race', reason: 'x', scope: { rooms: ['r0', 'r1', 'r2', 'r3'] } }, 'admin');
    const isHeld = heldBy(data, [hold]);
    const heldIds = (data.docs.get(RECORD_COLLECTIONS.messages) ?? []).filter((d) => isHeld('messages', d)).map((d) => d._id as unknown);
    const stillThere = (await messages.find({ _id: { $in: heldIds as never[] } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id as unknown);
    await svc.idle();
    const run = await svc.getRun(runId);
    expect(run.errors).toEqual([]);
    expect(await messages.countDocuments({})).toBeLessThan(total);
    expect(stillThere.length).toBeGreaterThan(0);
    expect(await messages.countDocuments({ _id: { $in: stillThere as never[] } })).toBe(stillThere.length);
  });
});
