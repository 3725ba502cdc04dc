import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { formatArchiveName } from '../../../proxy/archive/archive-name.js';
import { configFromObject } from '../../../proxy/config/load-config.js';
import { JobStore } from '../../../proxy/db/jobs.js';
import { Outbox } from '../../../proxy/db/outbox.js';
import { ProxyError } from '../../../proxy/errors.js';
import { Lease } from '../../../proxy/ha/lease.js';
import { MongoLeaseStore } from '../../../proxy/ha/lease-store.js';
import { Staging } from '../../../proxy/pipeline/staging.js';
import { SyncRunner } from '../../../proxy/pipeline/sync-runner.js';
import type { SftpSession } from '../../../proxy/sftp/connect.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

const TTL = 1500;
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A vendor whose one archive downloads for ever (until the download's AbortSignal fires). */
function endlessVendor(name: string): SftpSession {
  return {
    hostKeyFingerprint: 'SHA256:test',
    maxReadLen: undefined,
    list: () => Promise.resolve([{ name, size: 1000, mtimeMs: 0 }]),
    stat: () => Promise.resolve({ name, size: 1000, mtimeMs: 0 }),
    readSmallFile: () => Promise.resolve(undefined),
    download: (o) => new Promise((_resolve, reject) => {
      o.signal?.addEventListener('abort', () => reject(new ProxyError('DOWNLOAD_ABORTED', o.remotePath)), { once: true });
    }),
    remove: () => Promise.resolve(false),
    close: () => Promise.resolve(),
  };
}

describe('a leader that cannot renew its lease', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await testDatabase('ha_lost');
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it('aborts its running cycle before the lease expires on the server, and leaves the job for the next leader', async () => {
    const config = configFromObject({
      siteId: 'lost',
      sftp: { host: '127.0.0.1', username: 'x', privateKey: 'unused', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}`, settleSeconds: 0.05 },
      archive: { key: 'Lost-Lease-1!' },
      mongodb: { uri: inject('mongoUri'), database: tdb.name },
      vendor: { statusUrl: 'http://127.0.0.1:9/status', signingSecret: 'x', timeoutMs: 200 },
      staging: { dir: await mkdtemp(join(tmpdir(), 'rp-lost-')), minFreeBytes: 0 },
      ha: { enabled: true, nodeId: 'a', leaseTtlSeconds: TTL / 1000 },
    });
    const store = new MongoLeaseStore(tdb.db, 5000);
    const lease = new Lease({ siteId: 'lost', nodeId: 'a', ttlMs: TTL, store, log });
    // Acquired once and never renewed (no loop): as if the database stopped answering this node.
    const acquiredAt = Date.now();
    expect(await lease.tryAcquire()).toBe(true);
    const name = formatArchiveName('svc1', randomUUID(), new Date(Date.UTC(2026, 10, 1, 3)));
    const jobs = new JobStore(tdb.db, 5000, undefined, lease);
    const outbox = new Outbox(tdb.db, 5000, undefined, lease);
    const runner = new SyncRunner({
      config, db: tdb.db, jobs, outbox, staging: new Staging(config.staging.dir), log,
      connectSftp: () => Promise.resolve(endlessVendor(name)),
      now: () => new Date(),
    }, { retryTimer: false }, lease);

    await expect(runner.trigger('test')).rejects.toMatchObject({ code: 'LEASE_LOST' });
    const stoppedAfter = Date.now() - acquiredAt;
    expect(stoppedAfter).toBeGreaterThanOrEqual(TTL - TTL / 6 - 50);
    expect(stoppedAfter).toBeLessThan(TTL); // before the server-side expiry: no overlap with the next leader
    expect(lease.holder).toBe(false);
    expect(runner.status.lastError?.code).toBe('LEASE_LOST');
    // The job stays as it was for the next leader: no retry recorded, not failed.
    expect(await jobs.get(name)).toMatchObject({ state: 'downloading', attempts: 0, fence: 1 });
    expect((await store.read('lost'))?.expiresAt.getTime()).toBeGreaterThan(Date.now() - 1000);
    // And a cycle is not started again while this node is not the leader.
    expect(await runner.trigger('again')).toBeUndefined();
  });
});
