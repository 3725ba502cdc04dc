import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedDeps } from '../../../proxy/retention/deps.js';
import { DispositionLock, PROCESS_SPACE, serverNow } from '../../../proxy/retention/lock.js';
import { Mutex } from '../../../proxy/retention/mutex.js';
import { RETENTION_COLLECTIONS } from '../../../proxy/retention/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

describe('retention: the disposition lock (server clock, re-validated in the database)', () => {
  let t: TestDatabase;
  const deps = (over: Partial<ResolvedDeps> = {}): ResolvedDeps => ({
    db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 1_000, lease: undefined, nodeId: 'n1', batchSize: 10, batchPauseMs: 0,
    lockTtlMs: 5_000, now: () => new Date(), recordWrites: new Mutex(), writeConcern: { w: 'majority', wtimeoutMS: 1_000 }, ...over,
  });
  beforeAll(async () => {
    t = await testDatabase('ret_lock');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('a node whose clock runs two hours ahead cannot take a lock another node holds (expiry is on the server clock)', async () => {
    // The run lock: it does not wait for a dead holder's expiry like the disposition lock does.
    const a = new DispositionLock(deps(), 'run');
    const ahead = new DispositionLock(deps({ nodeId: 'n2', now: () => new Date(Date.now() + 2 * 3600_000) }), 'run');
    const h = await a.acquire('batch', 1_000);
    await expect(ahead.acquire('hold', 300)).rejects.toMatchObject({ code: 'DISPOSITION_LOCKED' });
    await h.confirm();
    await a.release(h);
    const h2 = await ahead.acquire('hold', 1_000);
    const doc = await t.db.collection(RETENTION_COLLECTIONS.locks).findOne({ _id: 'run' as never });
    const now = await serverNow(t.db);
    expect(Math.abs((doc?.expiresAt as Date).getTime() - (now.getTime() + 5_000))).toBeLessThan(2_000);
    expect(doc).toMatchObject({ node: 'n2', pid: process.pid });
    await ahead.release(h2);
  });

  it('confirm() fails with DISPOSITION_LOCKED once the lock expired in the database or was taken over, and extends it otherwise', async () => {
    const lock = new DispositionLock(deps());
    const col = t.db.collection<{ _id: string; owner: string; expiresAt: Date }>(RETENTION_COLLECTIONS.locks);
    const h = await lock.acquire('batch', 1_000);
    const before = (await col.findOne({ _id: 'disposition' }))?.expiresAt.getTime() ?? 0;
    await new Promise((r) => setTimeout(r, 50));
    await h.confirm();
    expect((await col.findOne({ _id: 'disposition' }))?.expiresAt.getTime()).toBeGreaterThan(before);
    await col.updateOne({ _id: 'disposition' }, { $set: { expiresAt: new Date(Date.now() - 60_000) } });
    await expect(h.confirm()).rejects.toMatchObject({ code: 'DISPOSITION_LOCKED' });
    const other = await lock.acquire('other', 1_000);
    await expect(h.confirm()).rejects.toMatchObject({ code: 'DISPOSITION_LOCKED' });
    await other.confirm();
    await lock.release(h);
    expect(await col.countDocuments({ _id: 'disposition' })).toBe(1);
    await lock.release(other);
  });

  it('a hold placement that took over a lock left by an older term is not broken as that older term (the holder is written whole)', async () => {
    const col = t.db.collection<Record<string, unknown> & { _id: string }>(RETENTION_COLLECTIONS.locks);
    const run = new DispositionLock(deps(), 'run');
    // A term-5 batch's lock document, expired and left behind.
    await col.updateOne({ _id: 'run' }, { $set: { owner: 'old', what: 'batch', expiresAt: new Date(0), node: 'n1', fence: 5, runId: 'r5' } }, { upsert: true });
    const placement = await run.acquire('hold placement', 1_000);
    expect(await col.findOne({ _id: 'run' })).toMatchObject({ fence: null, runId: null });
    // A term-6 batch must wait for the placement, not break it as "an older leader term".
    await expect(run.acquire('batch', 300, { fence: 6, runId: 'r6' })).rejects.toMatchObject({ code: 'DISPOSITION_LOCKED' });
    await run.release(placement);
    // A live lock of an older term itself is broken by the newer leader's batch.
    const old = await new DispositionLock(deps({ nodeId: 'n2' }), 'run').acquire('batch', 1_000, { fence: 5 });
    const newer = await run.acquire('batch', 300, { fence: 6 });
    await expect(old.confirm()).rejects.toMatchObject({ code: 'DISPOSITION_LOCKED' });
    await run.release(newer);
  });

  it('a holder whose pid is gone is only taken over from the same host and pid namespace', async () => {
    const col = t.db.collection<Record<string, unknown> & { _id: string }>(RETENTION_COLLECTIONS.locks);
    const run = new DispositionLock(deps(), 'run');
    const gonePid = 2 ** 22 + 17; // above pid_max: no such process
    const held = { owner: 'dead', what: 'batch', expiresAt: new Date(Date.now() + 60_000), node: 'n1', pid: gonePid, fence: null, runId: null };
    // Same node name, but another container (pid namespace): its pids mean nothing here, so the lock is waited out.
    await col.updateOne({ _id: 'run' }, { $set: { ...held, host: PROCESS_SPACE.host, pidNs: 'pid:[1]' } }, { upsert: true });
    await expect(run.acquire('batch', 300)).rejects.toMatchObject({ code: 'DISPOSITION_LOCKED' });
    // This host and namespace, and the process is gone: taken over at once.
    await col.updateOne({ _id: 'run' }, { $set: { ...held, ...PROCESS_SPACE } });
    const h = await run.acquire('batch', 300);
    await run.release(h);
  });

  it('refuses a lock time not above 3 x the write concern timeout', () => {
    expect(() => new DispositionLock(deps({ lockTtlMs: 3_000 }))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
  });
});
