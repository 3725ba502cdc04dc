import { spawnSync } from 'node:child_process';
import type { Collection } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { PROCESS_SPACE, serverNow } from '../../../proxy/retention/lock.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import { tombstoneId } from '../../../proxy/retention/tombstones.js';
import { RETENTION_COLLECTIONS } from '../../../proxy/retention/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

interface Doc { _id: string; [k: string]: unknown }

describe('retention: one run at a time across processes, settling only batches that cannot still be running', () => {
  let t: TestDatabase;
  let svc: RetentionService;
  const locks = (): Collection<Doc> => t.db.collection<Doc>(RETENTION_COLLECTIONS.locks);
  const runs = (): Collection<Doc> => t.db.collection<Doc>(RETENTION_COLLECTIONS.runs);
  beforeAll(async () => {
    t = await testDatabase('ret_runlock');
    svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 1_000, nodeId: 'node-a', batchPauseMs: 0, lockTtlMs: 10_000 });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('a young in-flight batch of another run keeps its tombstone; one older than the lock time is settled', async () => {
    const callId = 'call-young';
    await t.db.collection<Doc>(RECORD_COLLECTIONS.calls).insertOne({ _id: callId });
    const stone = tombstoneId(RECORD_COLLECTIONS.calls, callId);
    await t.db.collection<Doc>(RETENTION_COLLECTIONS.tombstones).insertOne({ _id: stone, collection: RECORD_COLLECTIONS.calls, recordId: callId, kind: 'record', sha256: null, policyId: 'p', runId: 'other', destroyedAt: new Date() });
    await runs().insertOne({ _id: 'other', state: 'running', startedAt: new Date(), node: 'node-b', pid: 1, inFlight: [stone], inFlightAt: await serverNow(t.db), planOnly: false });
    const first = await svc.run({ trigger: 'manual', requestedBy: 'test' });
    expect(first.errors).toEqual([]);
    expect(await t.db.collection<Doc>(RETENTION_COLLECTIONS.tombstones).countDocuments({ _id: stone })).toBe(1);
    await runs().updateOne({ _id: 'other' }, { $set: { inFlightAt: new Date((await serverNow(t.db)).getTime() - 20_000) } });
    const second = await svc.run({ trigger: 'manual', requestedBy: 'test' });
    expect(second.errors).toEqual([]);
    expect(await t.db.collection<Doc>(RETENTION_COLLECTIONS.tombstones).countDocuments({ _id: stone })).toBe(0);
    expect(await runs().findOne({ _id: 'other' })).not.toHaveProperty('inFlight');
  });

  it('a run refuses with RUN_IN_PROGRESS while another live process holds the run lock, and does not mark its run interrupted', async () => {
    const expiresAt = new Date((await serverNow(t.db)).getTime() + 60_000);
    await runs().insertOne({ _id: 'cli-run', state: 'running', startedAt: new Date(), node: 'node-a', pid: process.ppid, planOnly: false });
    await locks().insertOne({ _id: 'run', owner: 'cli', what: 'retention run cli-run', expiresAt, node: 'node-a', pid: process.ppid, runId: 'cli-run' });
    await expect(svc.run({ trigger: 'manual', requestedBy: 'cli' })).rejects.toMatchObject({ code: 'RUN_IN_PROGRESS', details: { runId: 'cli-run' } });
    expect(await svc.markInterrupted()).toBe(0);
    expect(await runs().findOne({ _id: 'cli-run' })).toMatchObject({ state: 'running' });
    await locks().deleteOne({ _id: 'run' });
    await runs().deleteOne({ _id: 'cli-run' });
  });

  it('after a SIGKILL the same node breaks the run and disposition locks of the dead process at once', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    expect(dead).toBeGreaterThan(0);
    const expiresAt = new Date((await serverNow(t.db)).getTime() + 60_000);
    // As the dead process wrote them: with its host and pid namespace (this machine's).
    await runs().insertOne({ _id: 'killed', state: 'running', startedAt: new Date(), node: 'node-a', pid: dead, planOnly: false, ...PROCESS_SPACE });
    await locks().insertMany([
      { _id: 'run', owner: 'killed-run', what: 'retention run killed', expiresAt, node: 'node-a', pid: dead, runId: 'killed', ...PROCESS_SPACE },
      { _id: 'disposition', owner: 'killed-batch', what: 'retention destroy p', expiresAt, node: 'node-a', pid: dead, ...PROCESS_SPACE },
    ]);
    const started = Date.now();
    const run = await svc.run({ trigger: 'manual', requestedBy: 'scheduler' });
    expect(run.errors).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await runs().findOne({ _id: 'killed' })).toMatchObject({ state: 'interrupted' });
    expect(await locks().countDocuments({})).toBe(0);
  });
});
