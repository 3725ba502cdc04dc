import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCoverage } from '../../../proxy/retention/hold-filter.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import type { Hold } from '../../../proxy/retention/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { generateRetentionData, type GeneratedData } from '../../helpers/retention-data.js';

describe('retention: hold resolution is bounded', () => {
  let t: TestDatabase;
  let data: GeneratedData;
  beforeAll(async () => {
    t = await testDatabase('ret_holdsize');
    data = await generateRetentionData(t.db, 13, 1.5);
  });
  afterAll(async () => {
    await t.drop();
  });

  it('a hold whose people resolve to more ids than the cap fails with HOLD_TOO_LARGE; under the cap it resolves', async () => {
    const hold: Hold = { _id: 'h', name: 'All staff', reason: 'x', scope: { staff: ['s0', 's1', 's2', 's3', 's4', 's5'], contacts: ['c0', 'c1', 'c2'] }, createdAt: data.now, createdBy: 'admin' };
    await expect(resolveCoverage(t.db, hold, 3)).rejects.toMatchObject({ code: 'HOLD_TOO_LARGE' });
    const c = await resolveCoverage(t.db, hold);
    expect(c.messages.length).toBeGreaterThan(3);
    const svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 10_000, nodeId: 'test', now: () => data.now });
    await expect(svc.createHold({ name: 'ok', reason: 'x', scope: hold.scope }, 'admin')).resolves.toMatchObject({ name: 'ok' });
  });
});
