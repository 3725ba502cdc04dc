import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JobStore } from '../../../proxy/db/jobs.js';
import { Outbox, reportIdFor } from '../../../proxy/db/outbox.js';
import { Lease, type Fence } from '../../../proxy/ha/lease.js';
import { MongoLeaseStore } from '../../../proxy/ha/lease-store.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const WT = 5000;

describe('leader lease and fencing against the real database', () => {
  let tdb: TestDatabase;
  let store: MongoLeaseStore;
  const leases: Lease[] = [];
  const lease = (siteId: string, nodeId: string, ttlMs: number): Lease => {
    const l = new Lease({ siteId, nodeId, ttlMs, store, log });
    leases.push(l);
    return l;
  };

  beforeAll(async () => {
    tdb = await testDatabase('ha_lease');
    store = new MongoLeaseStore(tdb.db, WT);
  });
  afterAll(async () => {
    for (const l of leases) l.stepDown('test over');
    await tdb?.drop();
  });

  it('clients racing for the lease: never two holders, and the recorded terms have strictly increasing tokens', async () => {
    const ttl = 800;
    const racers = [lease('race', 'a', ttl), lease('race', 'b', ttl), lease('race', 'c', ttl)];
    let won = 0;
    for (let round = 1; round <= 6; round++) {
      const results = await Promise.all(racers.map((r) => r.tryAcquire()));
      const winners = racers.filter((_r, i) => results[i]);
      // MongoDB serialises the conditional update: one winner per round. FerretDB 1.x may let several callers match
      // the same expired lease; the unique term record then leaves at most one of them leading (sometimes none).
      expect(winners.length, `round ${round}`).toBeLessThanOrEqual(1);
      if (inject('mongoKind') !== 'ferretdb') expect(winners.length, `round ${round}`).toBe(1);
      // Never two holders at once (the winner may already have stepped down if the machine is slow: that is fine).
      expect(racers.filter((r) => r.holder).length, `round ${round}`).toBeLessThanOrEqual(1);
      const winner = winners[0];
      if (winner) {
        won++;
        await winner.release();
      }
      await sleep(ttl + 50); // a losing racer's write may have left the lease in its name: let it expire
    }
    expect(won).toBeGreaterThanOrEqual(3);
    const history = await store.history.find({ siteId: 'race' }).sort({ token: 1 }).toArray();
    const tokens = history.map((h) => h.token);
    expect(tokens).toEqual([...new Set(tokens)].sort((x, y) => x - y));
    for (const h of history.slice(1)) expect(h.previous?.expiresAt.getTime()).toBeLessThanOrEqual(h.acquiredAt.getTime());
  });

  it('expiry and takeover: the follower gets the lease after the TTL (server clock), the old holder cannot renew', async () => {
    const ttl = 1500;
    const a = lease('expiry', 'a', ttl);
    const b = lease('expiry', 'b', ttl);
    expect(await a.tryAcquire()).toBe(true);
    const aTerm = a.signal;
    expect(await b.tryAcquire()).toBe(false);
    const started = Date.now();
    while (!(await b.tryAcquire())) await sleep(b.nextDelayMs());
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(ttl - 200);
    expect(waited).toBeLessThan(ttl + 1000);
    expect(b.token()).toBe(2);
    // a's watchdog has stepped it down (before the expiry), and a renewal is refused anyway.
    expect(aTerm.aborted).toBe(true);
    expect(a.holder).toBe(false);
    expect(await a.renew()).toBe(false);
    const doc = await store.read('expiry');
    expect(doc).toMatchObject({ holder: 'b', token: 2 });
    const [first, second] = await store.history.find({ siteId: 'expiry' }).sort({ token: 1 }).toArray();
    expect(second?.previous).toMatchObject({ holder: 'a', token: 1 });
    expect(second?.acquiredAt.getTime()).toBeGreaterThanOrEqual(second?.previous?.expiresAt.getTime() ?? Infinity);
    expect(first?.acquiredAt.getTime()).toBeLessThan(second?.acquiredAt.getTime() ?? 0);
  });

  it('a stale leader\'s late job and outbox writes are refused with LEASE_LOST once the new leader has claimed them', async () => {
    const ttl = 1500;
    const a = lease('fence', 'a', ttl);
    const b = lease('fence', 'b', ttl);
    expect(await a.tryAcquire()).toBe(true);
    const staleToken = a.token();
    // A paused leader: its process still believes in its token (its watchdog has not run yet).
    const stale: Fence = { token: () => staleToken };
    const staleJobs = new JobStore(tdb.db, WT, undefined, stale);
    const staleOutbox = new Outbox(tdb.db, WT, undefined, stale);
    const name = 'backup_svc1_job1_20261122030000.zip';
    await staleJobs.discover({ fileName: name, serviceId: 'svc1', jobId: 'job1', siteId: 'fence', archiveCreatedAt: new Date(), source: 'sftp', remoteSize: 100, remoteMtimeMs: 0 });
    await staleJobs.transition(name, ['discovered'], 'downloading');
    await staleOutbox.enqueue({ reportId: reportIdFor('fence', 'job1', 'downloading'), serviceId: 'svc1', siteId: 'fence', jobId: 'job1', fileName: name, status: 'downloading', bytes: 100, fileCount: 0, recordCounts: {}, sha256: '', at: new Date().toISOString() });
    expect((await staleJobs.get(name))?.fence).toBe(staleToken);

    while (!(await b.tryAcquire())) await sleep(b.nextDelayMs());
    const jobsB = new JobStore(tdb.db, WT, undefined, b);
    const outboxB = new Outbox(tdb.db, WT, undefined, b);
    expect(await jobsB.claimActive()).toBe(1);
    expect(await outboxB.claimPending()).toBe(1);

    const refused = { code: 'LEASE_LOST' };
    await expect(staleJobs.checkpoint(name, 50)).rejects.toMatchObject(refused);
    await expect(staleJobs.transition(name, ['downloading'], 'downloaded', { bytes: 100, sha256: 'x' })).rejects.toMatchObject(refused);
    await expect(staleJobs.recordRetry(name, { code: 'SFTP_TIMEOUT', message: 'late' }, new Date())).rejects.toMatchObject(refused);
    await expect(staleJobs.fail(name, { code: 'ARCHIVE_BAD_CRC', message: 'late' })).rejects.toMatchObject(refused);
    await expect(staleOutbox.markDelivered(reportIdFor('fence', 'job1', 'downloading'))).rejects.toMatchObject(refused);
    await expect(staleOutbox.markAttemptFailed(reportIdFor('fence', 'job1', 'downloading'), 'late', new Date())).rejects.toMatchObject(refused);
    const job = await jobsB.get(name);
    expect(job).toMatchObject({ state: 'downloading', highWaterMark: 0, attempts: 0, fence: b.token() });
    expect((await outboxB.get(reportIdFor('fence', 'job1', 'downloading')))?.deliveredAt).toBeUndefined();

    // The new leader's own writes go through; a non-leader is refused before it reaches the database.
    await jobsB.checkpoint(name, 50);
    await outboxB.markDelivered(reportIdFor('fence', 'job1', 'downloading'));
    expect((await jobsB.get(name))?.highWaterMark).toBe(50);
    expect(a.holder).toBe(false);
    await expect(new JobStore(tdb.db, WT, undefined, a).checkpoint(name, 60)).rejects.toMatchObject(refused);
    // A job conflict is still a conflict, not a lost lease.
    await expect(jobsB.transition(name, ['imported'], 'reported')).rejects.toMatchObject({ code: 'JOB_STATE_CONFLICT' });
  });
});
