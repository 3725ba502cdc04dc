/**
 * Never fill the disk (issue 11, item 5), through the pipeline: an archive whose declared expanded size plus the
 * staging reserve does not fit is not extracted; its job waits (DISK_FULL, retried, never failed) and that shows in
 * `check`, `/readyz` and `/metrics`; once space is freed it imports. The disk's free space is injected.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { runChecks } from '../../../proxy/check/run-checks.js';
import { configFromObject } from '../../../proxy/config/load-config.js';
import { JobStore } from '../../../proxy/db/jobs.js';
import { Outbox } from '../../../proxy/db/outbox.js';
import { ProxyError } from '../../../proxy/errors.js';
import { ensureImportIndexes } from '../../../proxy/importer/index.js';
import { ProxyMetrics } from '../../../proxy/metrics/metrics.js';
import type { PipelineContext } from '../../../proxy/pipeline/context.js';
import { readDiskStatus } from '../../../proxy/pipeline/disk-status.js';
import { processJob } from '../../../proxy/pipeline/process-job.js';
import type { Progress } from '../../../proxy/pipeline/progress.js';
import { Staging } from '../../../proxy/pipeline/staging.js';
import { publishDayArchive } from '../../../proxy/vendor-sim/generate/publish-archive.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { importedCounts } from '../../helpers/imported.js';
import { portalApp } from '../../helpers/portal-app.js';

const KEY = 'Disk-Full-Key-7!';
const RESERVE = 512 * 1024 * 1024;
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const noSftp = (): Promise<never> => Promise.reject(new ProxyError('USAGE', 'offline'));

describe('a staging disk too small for the archive', () => {
  let tdb: TestDatabase;
  let work: string;
  let ctx: PipelineContext;
  let app: FastifyInstance | undefined;
  let free = 0;
  let fileName = '';

  beforeAll(async () => {
    tdb = await testDatabase('disk_full');
    work = await mkdtemp(join(tmpdir(), 'rp-disk-full-'));
    const config = configFromObject({
      siteId: 'disk-site',
      sftp: { host: '127.0.0.1', port: 1, username: 'x', privateKey: 'unused', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}`, readyTimeoutMs: 1000 },
      archive: { key: KEY },
      mongodb: { uri: inject('mongoUri'), database: tdb.name, writeConcernTimeoutMs: 10_000 },
      vendor: { statusUrl: 'http://127.0.0.1:9/status', signingSecret: 'x', timeoutMs: 500 },
      staging: { dir: join(work, 'staging'), minFreeBytes: RESERVE },
    });
    const staging = new Staging(config.staging.dir, () => Promise.resolve(free));
    await staging.ensure();
    const jobs = new JobStore(tdb.db, 10_000);
    const outbox = new Outbox(tdb.db, 10_000);
    await jobs.ensureIndexes();
    await ensureImportIndexes(tdb.db);
    ctx = { config, db: tdb.db, jobs, outbox, staging, log, connectSftp: noSftp, now: () => new Date() };

    const createdAt = new Date(Date.UTC(2026, 2, 1, 2));
    await mkdir(join(work, 'vendor'));
    const gen = await publishDayArchive({
      dataDir: join(work, 'vendor'), archiveKey: KEY, encryption: 'aes-256', serviceId: 'svc1', jobId: randomUUID(), createdAt,
      seed: 'disk-full', records: 200, mediaBytes: 2 * 1024 * 1024,
    });
    await gen.completed;
    fileName = gen.fileName;
    await jobs.discover({
      fileName, serviceId: 'svc1', jobId: gen.jobId, siteId: 'disk-site', archiveCreatedAt: createdAt,
      source: 'local', localPath: gen.path, remoteSize: gen.bytes, remoteMtimeMs: 0,
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await tdb?.drop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is not extracted: the job waits with DISK_FULL (not failed), nothing is written', async () => {
    free = RESERVE + 1024 * 1024; // the reserve plus 1 MiB: more than the archive, less than it expands to
    const job = await ctx.jobs.get(fileName);
    const outcome = await processJob(ctx, job!, noSftp);
    expect(outcome.error?.code).toBe('DISK_FULL');
    const after = await ctx.jobs.get(fileName);
    expect(after?.state).toBe('importing');
    expect(after?.error).toMatchObject({ code: 'DISK_FULL', permanent: false });
    expect(await importedCounts(tdb.db, after?.jobId ?? '')).toEqual({ records: {}, media: 0 });
    expect(await readdir(ctx.staging.extractRoot)).toEqual([]);
  });

  it('shows in /readyz (disk.full, the waiting archive) without making the node unready', async () => {
    app = await portalApp(tdb.name, { disk: () => readDiskStatus(tdb.db, ctx.staging, RESERVE) });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ ready: boolean; disk: Record<string, unknown> }>();
    expect(body.ready).toBe(true);
    // Public route: counts only, no staging path and no archive names (those are in `check`).
    expect(body.disk).toEqual({ full: true, belowReserve: false, freeBytes: free, reserveBytes: RESERVE, waitingArchives: 1 });
    expect(res.body).not.toContain(fileName);
  });

  it('shows in /metrics', async () => {
    const metrics = new ProxyMetrics({
      outboxDepth: () => ctx.outbox.depth(), lease: () => undefined,
      replicaSet: () => Promise.reject(new Error('not asked')), disk: () => readDiskStatus(tdb.db, ctx.staging, RESERVE),
    });
    const text = async (name: string): Promise<string> => metrics.registry.getSingleMetricAsString(`retention_proxy_${name}`);
    expect(await text('disk_full')).toMatch(/^retention_proxy_disk_full 1$/m);
    expect(await text('archives_waiting_for_disk')).toMatch(/^retention_proxy_archives_waiting_for_disk 1$/m);
    expect(await text('staging_free_bytes')).toMatch(new RegExp(`^retention_proxy_staging_free_bytes ${free}$`, 'm'));
    expect(await text('staging_reserve_bytes')).toMatch(new RegExp(`^retention_proxy_staging_reserve_bytes ${RESERVE}$`, 'm'));
  });

  it('shows in check as a FAIL line naming the archive', async () => {
    const lines = await runChecks(ctx.config, log);
    const line = lines.find((l) => l.name === 'archives waiting for disk space');
    expect(line?.status).toBe('FAIL');
    expect(line?.detail).toMatch(/^DISK_FULL: 1 archive\(s\)/);
    expect(line?.detail).toContain(fileName);
  });

  it('imports once space is freed (reporting progress of every stage up to its totals), and the disk no longer shows full', async () => {
    free = 64 * 1024 ** 3;
    const seen: Progress[] = [];
    const finished: string[] = [];
    const outcome = await processJob({ ...ctx, progress: { report: (p) => seen.push(p), finish: (f) => finished.push(f) } }, (await ctx.jobs.get(fileName))!, noSftp);
    expect(outcome.state).toBe('imported');
    expect([...new Set(seen.map((p) => p.stage))]).toEqual(['extract', 'verify', 'import']);
    const last = (stage: string): Progress | undefined => seen.filter((p) => p.stage === stage).at(-1);
    expect(last('extract')?.entries?.done).toBe(last('extract')?.entries?.total);
    expect(last('extract')?.bytes?.done).toBe(last('extract')?.bytes?.total);
    const job = await ctx.jobs.get(fileName);
    expect(last('import')?.records).toEqual({ done: job?.totalRecords, total: job?.totalRecords });
    expect(last('import')?.files?.done).toBe(last('import')?.files?.total);
    expect(finished).toEqual([fileName]);
    const status = await readDiskStatus(tdb.db, ctx.staging, RESERVE);
    expect(status).toMatchObject({ full: false, waiting: [] });
  });
});
