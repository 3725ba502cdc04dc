import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Binary, MongoClient, type Db, type Document, type WriteConcernSettings } from 'mongodb';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../proxy/app.js';
import { JobStore } from '../proxy/db/jobs.js';
import { Outbox } from '../proxy/db/outbox.js';
import { stampRecord } from '../proxy/importer/record-document.js';
import type { PipelineContext } from '../proxy/pipeline/context.js';
import { SyncRunner } from '../proxy/pipeline/sync-runner.js';
import { RECORD_COLLECTIONS } from '../proxy/portal/queries/types.js';
import { UserStore } from '../proxy/portal/users.js';
import { RetentionService } from '../proxy/retention/service.js';
import type { BenchContext, BenchRow } from './types.js';
import { percentile } from './percentile.js';

/**
 * Retention disposition (issue 9): an enforcing run archives about half and destroys the other half of N generated
 * records (60% messages, 20% calls, 20% file records, each file with a binary in GridFS `media`), N = 1 M times
 * BENCH_SCALE. Two figures, each against a peer measured in the same run on identical data:
 * - throughput: our run (plan, then fenced batches with the disposition lock, hold exclusion, tombstones, majority
 *   writes; no pause) against plain `updateMany` / `deleteMany` of the same documents by `_id` batches of the same
 *   size (and the destroyed files' GridFS documents and chunks). Target >= 0.8x.
 * - the portal's list p95 (messages and calls, 50 rows, as an auditor) during an enforcing run with the default batch
 *   size and pause, against the same lists idle. Target p95 during <= 2x idle (the ratio column is idle/during).
 * The data is inserted three times (ours, peer, latency), with insertMany, stored as the importer stores it.
 */

const DAY = 86_400_000;
const JOB = { jobId: '7b1f8d2e-3c4a-4b6f-9e0d-1c2b3a4d5e6f', archive: 'backup_svc1001_7b1f8d2e-3c4a-4b6f-9e0d-1c2b3a4d5e6f_20260301020000.zip' };
const INSERT_BATCH = 1000;
const BATCH_SIZE = 500;
const MEDIA_BYTES = 512;
const CHUNK_SIZE = 255 * 1024;
/** Policies: active one year, archived one more; the data is 400..1100 days old, so about half goes each way. */
const ACTIVE_DAYS = 365;
const ARCHIVE_DAYS = 365;
const TYPES = [
  { dataType: 'messages', collection: RECORD_COLLECTIONS.messages, clock: 'sentAt', share: 0.6 },
  { dataType: 'calls', collection: RECORD_COLLECTIONS.calls, clock: 'startedAt', share: 0.2 },
  { dataType: 'files', collection: RECORD_COLLECTIONS.files, clock: 'uploadedAt', share: 0.2 },
] as const;

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** Deterministic data: the same `n` gives the same documents in every database. */
async function fill(db: Db, n: number, now: Date, log: (m: string) => void): Promise<void> {
  const bytes = Buffer.alloc(MEDIA_BYTES, 7);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  for (const t of TYPES) {
    const count = Math.round(n * t.share);
    for (let i = 0; i < count; i += INSERT_BATCH) {
      const docs: Document[] = [];
      const files: Document[] = [];
      const chunks: Document[] = [];
      for (let j = i; j < Math.min(count, i + INSERT_BATCH); j++) {
        const at = new Date(now.getTime() - (400 + ((j * 7919) % 700)) * DAY - (j % DAY));
        const roomId = `room-${j % 97}`;
        if (t.dataType === 'messages') docs.push({ messageId: `m${j}`, roomId, sender: { kind: 'staff', id: `s${j % 13}` }, type: 'text', text: `message ${j}`, sentAt: at });
        else if (t.dataType === 'calls') docs.push({ callId: `k${j}`, roomId, from: { kind: 'staff', id: `s${j % 13}`, number: `10${j % 100}` }, to: { kind: 'contact', id: `c${j % 17}`, number: `+4930${j}` }, startedAt: at });
        else {
          const storagePath = `bench/room-file/f${j}.bin`;
          docs.push({ fileId: `f${j}`, category: 'room-file', name: `f${j}.bin`, size: MEDIA_BYTES, sha256, storagePath, roomId, uploadedAt: at });
          files.push({ _id: storagePath, length: MEDIA_BYTES, chunkSize: CHUNK_SIZE, uploadDate: at, filename: storagePath, metadata: { sha256, size: MEDIA_BYTES } });
          chunks.push({ files_id: storagePath, n: 0, data: new Binary(bytes) });
        }
      }
      const entry = `${t.collection.replace('.', '/')}.json`;
      await db.collection(t.collection).insertMany(docs.map((d) => stampRecord(d, JOB, entry)), { ordered: false });
      if (files.length > 0) {
        await db.collection('media.files').insertMany(files, { ordered: false });
        await db.collection('media.chunks').insertMany(chunks, { ordered: false });
      }
    }
    log(`retention: ${db.databaseName}: ${count} ${t.dataType}`);
  }
}

interface Site { db: Db; app: FastifyInstance; svc: RetentionService }

/** A database with the data, the portal's and retention's indexes, and enforcing policies (own client: the app closes it). */
async function site(uri: string, name: string, n: number, now: Date, batchPauseMs: number, log: (m: string) => void): Promise<Site> {
  const client = new MongoClient(uri);
  await client.connect();
  const db = client.db(name);
  await fill(db, n, now, log);
  const quiet = pino({ level: 'silent' });
  const jobs = new JobStore(db, 60_000);
  const outbox = new Outbox(db, 60_000);
  const runner = new SyncRunner({ log: quiet, db, jobs, outbox } as unknown as PipelineContext, { retryTimer: false });
  const app = await buildApp({ log: quiet, client, db, jobs, outbox, runner });
  await app.ready(); // the portal's indexes (clock dates among them)
  const svc = new RetentionService({ db, log: quiet, writeConcernTimeoutMs: 60_000, nodeId: 'bench', batchSize: BATCH_SIZE, batchPauseMs, now: () => now });
  await svc.ensureIndexes();
  for (const t of TYPES) {
    await svc.createPolicy({ id: t.dataType, name: t.dataType, dataType: t.dataType, scope: { kind: 'all' }, activeDays: ACTIVE_DAYS, archiveDays: ARCHIVE_DAYS }, 'bench');
    await svc.setPolicyMode(t.dataType, 'enforce', t.dataType, 'bench');
  }
  return { db, app, svc };
}

/** The peer: the same documents, found by the same dates, archived and deleted by `_id` batches. */
async function plainDisposition(db: Db, now: Date, writeConcern: WriteConcernSettings): Promise<{ archived: number; destroyed: number }> {
  const out = { archived: 0, destroyed: 0 };
  const archiveCut = new Date(now.getTime() - ACTIVE_DAYS * DAY);
  const destroyCut = new Date(now.getTime() - (ACTIVE_DAYS + ARCHIVE_DAYS) * DAY);
  for (const t of TYPES) {
    const col = db.collection(t.collection);
    for (;;) {
      const docs = await col.find({ [t.clock]: { $lte: destroyCut } }, { projection: { _id: 1, storagePath: 1 } }).limit(BATCH_SIZE).toArray();
      if (docs.length === 0) break;
      out.destroyed += (await col.deleteMany({ _id: { $in: docs.map((d) => d._id) } }, { writeConcern })).deletedCount;
      const paths = docs.map((d) => d.storagePath as unknown).filter((p): p is string => typeof p === 'string');
      if (paths.length > 0) {
        await db.collection<{ _id: string }>('media.files').deleteMany({ _id: { $in: paths } }, { writeConcern });
        await db.collection('media.chunks').deleteMany({ files_id: { $in: paths } }, { writeConcern });
      }
    }
    const mark = { runId: 'plain', policyId: t.dataType, at: now };
    for (;;) {
      const docs = await col.find({ [t.clock]: { $lte: archiveCut, $gt: destroyCut }, _archived: { $exists: false } }, { projection: { _id: 1 } }).limit(BATCH_SIZE).toArray();
      if (docs.length === 0) break;
      out.archived += (await col.updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $set: { _archived: mark } }, { writeConcern })).modifiedCount;
    }
  }
  return out;
}

/** How long after `from` the run's document left 'planning' (polled every 50 ms; NaN when `stop` is set first). */
async function watchPlanning(db: Db, from: number, stop: { stopped: boolean }): Promise<number> {
  const runs = db.collection<{ _id: string; state: string }>('retention.runs');
  while (!stop.stopped) {
    const r = await runs.findOne({}, { projection: { state: 1 } });
    if (r && r.state !== 'planning') return performance.now() - from;
    await sleep(50);
  }
  return Number.NaN;
}

const LISTS = ['/api/v1/messages?limit=50', '/api/v1/calls?limit=50'];

async function auditorCookie(s: Site): Promise<string> {
  await new UserStore(s.db).create('bench', 'Bench-Pass-1', 'auditor');
  const res = await s.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'bench', password: 'Bench-Pass-1' } });
  return `rp_session=${res.cookies.find((c) => c.name === 'rp_session')?.value ?? ''}`;
}

/** Sequential list requests (alternating types) until `until` says stop; their latencies in ms. */
async function listLatencies(s: Site, cookie: string, until: (i: number) => boolean): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; !until(i); i++) {
    const url = LISTS[i % LISTS.length] ?? '';
    const a = performance.now();
    const res = await s.app.inject({ url, headers: { cookie } });
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    out.push(performance.now() - a);
  }
  return out.sort((x, y) => x - y);
}

export async function benchRetention(ctx: BenchContext, mongoUri: string): Promise<BenchRow[]> {
  const n = Math.max(3000, Math.round(1_000_000 * ctx.scale));
  const now = new Date();
  const client = new MongoClient(mongoUri);
  await client.connect();
  const stamp = Date.now().toString(36);
  const names = { ours: `bench_ret_a_${stamp}`, peer: `bench_ret_b_${stamp}`, load: `bench_ret_c_${stamp}` };
  const writeConcern: WriteConcernSettings = { w: 'majority', wtimeoutMS: 60_000 };
  const sites: Site[] = [];
  try {
    const ours = await site(mongoUri, names.ours, n, now, 0, ctx.log);
    sites.push(ours);
    const peer = await site(mongoUri, names.peer, n, now, 0, ctx.log);
    sites.push(peer);

    // Throughput: the peer first, then ours, each alone on the machine's database.
    const p0 = performance.now();
    const plain = await plainDisposition(peer.db, now, writeConcern);
    const peerMs = performance.now() - p0;
    const o0 = performance.now();
    const stop = { stopped: false };
    const planMs = watchPlanning(ours.db, o0, stop);
    const run = await ours.svc.run({ trigger: 'cli', requestedBy: 'bench' }).finally(() => {
      stop.stopped = true;
    });
    const oursMs = performance.now() - o0;
    const planned = await planMs;
    if (run.state !== 'done') throw new Error(`retention run ${run.state}: ${JSON.stringify(run.errors)}`);
    const archived = run.done.reduce((a, d) => a + d.archived, 0);
    const destroyed = run.done.reduce((a, d) => a + d.destroyed, 0);
    if (archived !== plain.archived || destroyed !== plain.destroyed) {
      throw new Error(`ours archived ${archived} and destroyed ${destroyed}, the peer ${plain.archived} and ${plain.destroyed}: not the same documents`);
    }
    const acted = archived + destroyed;
    const oursRate = acted / (oursMs / 1000);
    const peerRate = acted / (peerMs / 1000);
    ctx.log(`retention: ours ${acted} records in ${(oursMs / 1000).toFixed(1)} s (${oursRate.toFixed(0)}/s; plan ${(planned / 1000).toFixed(1)} s of it); plain ${(peerMs / 1000).toFixed(1)} s (${peerRate.toFixed(0)}/s)`);

    // Portal list p95: idle, then during an enforcing run with the default batch size and pause.
    const load = await site(mongoUri, names.load, n, now, 200, ctx.log);
    sites.push(load);
    const cookie = await auditorCookie(load);
    const iterations = Number(process.env.BENCH_RETENTION_ITERATIONS ?? 60);
    await listLatencies(load, cookie, (i) => i >= 6); // warm-up
    const idle = await listLatencies(load, cookie, (i) => i >= iterations);
    let running = true;
    const during = load.svc.run({ trigger: 'cli', requestedBy: 'bench' }).finally(() => {
      running = false;
    });
    const busy = await listLatencies(load, cookie, () => !running);
    const loadRun = await during;
    if (loadRun.state !== 'done') throw new Error(`retention run under load ${loadRun.state}: ${JSON.stringify(loadRun.errors)}`);
    const [i50, i95, b50, b95] = [percentile(idle, 50), percentile(idle, 95), percentile(busy, 50), percentile(busy, 95)];
    ctx.log(`retention: list idle p50 ${i50.toFixed(1)} p95 ${i95.toFixed(1)} ms; during a run (${busy.length} requests) p50 ${b50.toFixed(1)} p95 ${b95.toFixed(1)} ms`);

    return [
      {
        group: 'retention',
        name: `archive ${archived} + destroy ${destroyed} records (${n} with media, batches of ${BATCH_SIZE})`,
        ours: `${oursRate.toFixed(0)} records/s (${(oursMs / 1000).toFixed(1)} s, of it plan ${(planned / 1000).toFixed(1)} s)`,
        peer: `${peerRate.toFixed(0)} records/s (${(peerMs / 1000).toFixed(1)} s, plain updateMany/deleteMany by _id)`,
        ratio: oursRate / peerRate,
        target: '>= 0.8x',
        pass: oursRate >= 0.8 * peerRate,
        raw: { records: n, archived, destroyed, oursMs: round1(oursMs), oursPlanMs: round1(planned), peerMs: round1(peerMs), runDurationMs: run.durationMs ?? 0 },
      },
      {
        group: 'retention',
        name: `portal list p95 during an enforcing run (batch ${BATCH_SIZE}, pause 200 ms)`,
        ours: `p50 ${b50.toFixed(1)} ms, p95 ${b95.toFixed(1)} ms (${busy.length} requests during the run)`,
        peer: `p50 ${i50.toFixed(1)} ms, p95 ${i95.toFixed(1)} ms (idle, ${idle.length} requests)`,
        ratio: i95 / b95,
        target: '>= 0.5x (p95 during <= 2x idle)',
        pass: b95 <= 2 * i95,
        raw: { records: n, idleP50Ms: round1(i50), idleP95Ms: round1(i95), duringP50Ms: round1(b50), duringP95Ms: round1(b95), duringRequests: busy.length, loadRunMs: loadRun.durationMs ?? 0 },
      },
    ];
  } finally {
    for (const s of sites) await s.app.close().catch(() => undefined);
    for (const name of Object.values(names)) await client.db(name).dropDatabase().catch(() => undefined);
    await client.close();
  }
}
