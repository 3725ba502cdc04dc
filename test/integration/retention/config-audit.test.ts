import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetentionService } from '../../../proxy/retention/service.js';
import type { ConfigPolicy } from '../../../proxy/retention/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

describe('retention: config policies', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('ret_cfgaudit');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('a mode set or switched by the configuration is audited as retention.policy.mode by user config; an unchanged sync is not', async () => {
    const svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 1_000, nodeId: 'test' });
    const base = { id: 'calls-5y', name: 'Calls 5y', dataType: 'calls', scope: { kind: 'all' }, activeDays: 1825, archiveDays: 0 };
    const audit = t.db.collection('portal.audit');
    await svc.syncConfigPolicies([{ ...base, mode: 'dry-run' } as unknown as ConfigPolicy]);
    expect(await audit.countDocuments({})).toBe(0);
    await svc.syncConfigPolicies([{ ...base, mode: 'enforce' } as unknown as ConfigPolicy]);
    await svc.syncConfigPolicies([{ ...base, mode: 'enforce' } as unknown as ConfigPolicy]);
    const entries = await audit.find({}).toArray();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ user: 'config', action: 'retention.policy.mode', target: 'retention/policies/calls-5y', details: { mode: 'enforce' } });
  });
});
