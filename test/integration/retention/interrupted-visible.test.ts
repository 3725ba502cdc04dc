import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retentionReport } from '../../../proxy/check/retention-report.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import { RETENTION_COLLECTIONS } from '../../../proxy/retention/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

describe('retention: an interrupted run is visible in check and /metrics', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('ret_interrupted');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('marking a crashed run interrupted counts it, and check FAILs naming it; health reports it as the last run', async () => {
    const outcomes: string[] = [];
    const svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 1_000, nodeId: 'test' }, { runFinished: (o) => outcomes.push(o), records: () => undefined });
    await svc.createPolicy({ id: 'calls', name: 'Calls', dataType: 'calls', scope: { kind: 'all' }, activeDays: 400, archiveDays: 400 }, 'admin');
    await t.db.collection(RETENTION_COLLECTIONS.runs).insertOne({ _id: 'crashed' as never, state: 'running', startedAt: new Date(), planOnly: false, node: 'test', pid: 1, policyIds: [], plan: [], done: [], errors: [] });
    expect(await svc.markInterrupted()).toBe(1);
    expect(outcomes).toEqual(['interrupted']);
    const line = await retentionReport(t.db);
    expect(line.status).toBe('FAIL');
    expect(line.detail).toContain('crashed was interrupted');
    expect((await svc.health()).lastFinished).toMatchObject({ runId: 'crashed', state: 'interrupted' });
  });
});
