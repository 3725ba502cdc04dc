import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configFromObject } from '../../../proxy/config/load-config.js';
import { ProgressDocs } from '../../../proxy/db/job-progress.js';
import { JobStore, type JobDoc } from '../../../proxy/db/jobs.js';
import { Outbox } from '../../../proxy/db/outbox.js';
import { ensureImportIndexes } from '../../../proxy/importer/index.js';
import type { PipelineContext } from '../../../proxy/pipeline/context.js';
import { processJob } from '../../../proxy/pipeline/process-job.js';
import { ProgressStore } from '../../../proxy/pipeline/progress-store.js';
import { Staging } from '../../../proxy/pipeline/staging.js';
import { openSftp, type SftpSession } from '../../../proxy/sftp/connect.js';
import { publishDayArchive, type PublishedArchive } from '../../../proxy/vendor-sim/generate/publish-archive.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { startFaultySftpServer, type FaultySftpServer } from '../../helpers/faulty-sftp-server.js';
import { ADMIN, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';

const KEY = 'Progress-Key-42!';
const SERVICE = 'svc12';
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface Count { done: number; total: number }
interface Row { fileName: string; state: string; status: string; progress?: { stage: string; percent: number | null; bytes?: Count; records?: Count; files?: Count; rate: number | null; node: string; updatedAt: string } }
interface Day { day: string; archives: number; records: number; bytes: number; durationMs: number; failed: number }

/**
 * Issue 12 item 8: Sync status shows the leader's progress from the database (so the portal of either HA node can),
 * while the real pipeline downloads from a paused SFTP source and imports behind a paused write gate; and the last 30
 * days per UTC day.
 */
describe('Sync status: progress in flight and the 30-day history', () => {
  let tdb: TestDatabase;
  let server: FaultySftpServer;
  let dir: string;
  let app: FastifyInstance;
  let admin: Login;
  let archive: PublishedArchive;
  let jobs: JobStore;
  let base: Omit<PipelineContext, 'signal' | 'recordWrites'>;
  let store: ProgressStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rp-sync-progress-'));
    const root = join(dir, 'remote');
    await mkdir(root);
    archive = await publishDayArchive({ dataDir: root, archiveKey: KEY, encryption: 'aes-256', serviceId: SERVICE, jobId: randomUUID(), createdAt: new Date(), seed: 'progress', records: 120, mediaBytes: 192 * 1024 });
    await archive.completed;
    server = await startFaultySftpServer({ root });
    tdb = await testDatabase('syncprogress');
    await createUsers(tdb.db);
    // The portal has its own client and job store: it sees only what the pipeline wrote to the database.
    app = await portalApp(tdb.name);
    admin = await login(app, ADMIN);

    const config = configFromObject({
      siteId: 'progress-site',
      sftp: { host: server.host, port: server.port, username: server.username, privateKey: server.privateKey, hostKeyFingerprint: server.hostKeyFingerprint, remoteDir: '/', chunkSize: 16 * 1024, concurrency: 2, checkpointBytes: 16 * 1024, stallTimeoutMs: 120_000 },
      archive: { key: KEY },
      mongodb: { uri: inject('mongoUri'), database: tdb.name },
      vendor: { statusUrl: 'http://127.0.0.1:9/status', signingSecret: 'progress-secret' },
      staging: { dir: join(dir, 'staging'), minFreeBytes: 0 },
    });
    jobs = new JobStore(tdb.db, config.mongodb.writeConcernTimeoutMs);
    const outbox = new Outbox(tdb.db, config.mongodb.writeConcernTimeoutMs);
    await jobs.ensureIndexes();
    await outbox.ensureIndexes();
    await ensureImportIndexes(tdb.db);
    store = new ProgressStore(new ProgressDocs(tdb.db), log, { node: 'node-a', everyMs: 200 });
    const staging = new Staging(config.staging.dir);
    await staging.ensure();
    base = {
      config, db: tdb.db, jobs, outbox, staging, log, now: () => new Date(), progress: store,
      connectSftp: () => openSftp({ host: server.host, port: server.port, username: server.username, privateKey: server.privateKey, hostKeyFingerprint: server.hostKeyFingerprint }, log),
    };
    await jobs.discover({
      fileName: archive.fileName, serviceId: SERVICE, jobId: archive.jobId, siteId: 'progress-site', archiveCreatedAt: archive.createdAt,
      source: 'sftp', remoteSize: archive.bytes, remoteMtimeMs: Date.now(),
    });
  });

  afterAll(async () => {
    await store?.idle();
    await app?.close();
    await server?.stop();
    await tdb?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function rows(): Promise<Row[]> {
    const res = await app.inject({ method: 'GET', url: '/api/v1/sync/jobs', headers: admin.headers });
    expect(res.statusCode).toBe(200);
    return res.json<{ items: Row[] }>().items;
  }

  /** Reads the archive's row until `pred` holds (the pipeline runs meanwhile). */
  async function rowWhen(pred: (r: Row) => boolean, what: string): Promise<Row> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const row = (await rows()).find((r) => r.fileName === archive.fileName);
      if (row && pred(row)) return row;
      if (Date.now() > deadline) throw new Error(`${what}: last row ${JSON.stringify(row)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs the job through the real pipeline in the background, with its own SFTP session and stop signal. */
  function runJob(extra: Partial<PipelineContext>): { stop: AbortController; done: Promise<unknown> } {
    const stop = new AbortController();
    let session: SftpSession | undefined;
    const done = (async () => {
      const job = await jobs.get(archive.fileName);
      if (!job) throw new Error('no job');
      try {
        return await processJob({ ...base, signal: stop.signal, ...extra }, job, async () => (session ??= await base.connectSftp()));
      } finally {
        await session?.close();
      }
    })();
    return { stop, done };
  }

  it('shows bytes and percent of a download that is paused half-way, then the records of an import waiting to write', async () => {
    server.faults = { stallAfterBytes: Math.floor(archive.bytes / 2) };
    const first = runJob({});
    const downloading = await rowWhen((r) => (r.progress?.bytes?.done ?? 0) >= archive.bytes / 4, 'download progress');
    expect(downloading).toMatchObject({ state: 'downloading', status: 'Downloading' });
    expect(downloading.progress).toMatchObject({ stage: 'download', bytes: { total: archive.bytes }, node: 'node-a' });
    // The source stops answering after half the archive (plus the read that crossed the half).
    const done = downloading.progress?.bytes?.done ?? 0;
    expect(done).toBeLessThan(archive.bytes);
    expect(downloading.progress?.percent).toBe(Math.floor((100 * done) / archive.bytes));
    expect(downloading.progress?.percent).toBeGreaterThanOrEqual(25);
    expect(Number.isNaN(Date.parse(downloading.progress?.updatedAt ?? ''))).toBe(false);
    first.stop.abort(new Error('test: stop the paused download'));
    await first.done.catch(() => undefined);

    // Resumed with the source healthy; the import waits at its write gate with every record verified.
    server.faults = {};
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => { open = r; });
    const second = runJob({ recordWrites: { run: async <T>(fn: () => Promise<T>): Promise<T> => { await gate; return fn(); } } });
    const importing = await rowWhen((r) => r.progress?.stage === 'import', 'import progress');
    expect(importing).toMatchObject({ state: 'importing', status: 'Downloading' });
    expect(importing.progress?.records?.done).toBe(0);
    expect(importing.progress?.records?.total).toBeGreaterThan(0);
    expect(importing.progress?.percent).toBe(0);
    const totalRecords = importing.progress?.records?.total ?? 0;
    open();
    await expect(second.done).resolves.toMatchObject({ state: 'imported' });
    await store.idle();
    const imported = (await rows()).find((r) => r.fileName === archive.fileName);
    expect(imported?.state).toBe('imported');
    expect(imported?.progress).toBeUndefined();
    expect(await new ProgressDocs(tdb.db).col.countDocuments()).toBe(0);
    expect((await jobs.get(archive.fileName))?.totalRecords).toBe(totalRecords);
  });

  it('history: the last 30 UTC days, oldest first, archives, records, bytes and duration per day; health lists the indexes building', async () => {
    const today = new Date();
    const daysAgo = (n: number, hour: number): Date => new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - n, hour));
    const older = (name: string, history: JobDoc['history'], extra: Partial<JobDoc>): JobDoc => ({
      _id: name, fileName: name, serviceId: SERVICE, jobId: name, siteId: 'progress-site', archiveCreatedAt: history[0]?.at ?? today, source: 'sftp',
      remoteSize: 1000, remoteMtimeMs: 0, state: 'reported', attempts: 0, nextAttemptAt: today, highWaterMark: 0, history,
      discoveredAt: history[0]?.at ?? today, updatedAt: history.at(-1)?.at ?? today, ...extra,
    });
    await jobs.col.insertMany([
      older('three-days-ago', [{ state: 'downloading', at: daysAgo(3, 3) }, { state: 'imported', at: daysAgo(3, 4) }, { state: 'reported', at: daysAgo(3, 4) }], { bytes: 4096, totalRecords: 50 }),
      older('failed-yesterday', [{ state: 'downloading', at: daysAgo(1, 3) }, { state: 'failed', at: daysAgo(1, 3) }], { state: 'failed' }),
      older('forty-days-ago', [{ state: 'downloading', at: daysAgo(40, 3) }, { state: 'imported', at: daysAgo(40, 4) }], { totalRecords: 9 }),
    ]);
    const res = await app.inject({ method: 'GET', url: '/api/v1/sync/history', headers: admin.headers });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ from: string; to: string; days: Day[]; truncated: boolean }>();
    expect(body.days).toHaveLength(30);
    expect(body.to).toBe(today.toISOString().slice(0, 10));
    expect(body.days[0]?.day).toBe(body.from);
    expect(body.truncated).toBe(false);
    const day = (n: number) => body.days[body.days.length - 1 - n];
    const job = await jobs.get(archive.fileName);
    expect(day(0)).toMatchObject({ archives: 1, records: job?.totalRecords, bytes: archive.bytes, failed: 0 });
    expect(day(0)?.durationMs).toBeGreaterThan(0);
    expect(day(1)).toMatchObject({ archives: 0, failed: 1 });
    expect(day(3)).toEqual({ day: daysAgo(3, 0).toISOString().slice(0, 10), archives: 1, records: 50, bytes: 4096, durationMs: 3_600_000, failed: 0 });
    expect(body.days.reduce((n, d) => n + d.archives, 0)).toBe(2);

    expect((await app.inject({ method: 'GET', url: '/api/v1/sync/history?days=91', headers: admin.headers })).json()).toMatchObject({ code: 'VALIDATION' });
    const health = await app.inject({ method: 'GET', url: '/api/v1/sync/health', headers: admin.headers });
    expect(health.json<{ indexes: { building: string[]; failed: string[] } }>().indexes).toEqual({ building: expect.any(Array) as unknown, failed: [] });
  });

  it('progress writes are fenced: a node whose lease token is older than the last writer\'s can neither write nor clear', async () => {
    const snapshot = { stage: 'import' as const, startedAt: new Date(), at: new Date(), node: 'leader', records: { done: 1, total: 2 } };
    const current = new ProgressDocs(tdb.db, { token: () => 7 });
    const stale = new ProgressDocs(tdb.db, { token: () => 6 });
    const node = async (): Promise<string | undefined> => (await current.col.findOne({ _id: archive.fileName }))?.node;
    await current.saveProgress(archive.fileName, 'importing', snapshot);
    expect(await node()).toBe('leader');
    await stale.saveProgress(archive.fileName, 'importing', { ...snapshot, node: 'old-leader' });
    expect(await node()).toBe('leader');
    await stale.clearProgress(archive.fileName);
    expect(await node()).toBe('leader');
    await current.clearProgress(archive.fileName);
    expect(await node()).toBeUndefined();
  });
});
