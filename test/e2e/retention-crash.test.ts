import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RECORD_COLLECTIONS } from '../../proxy/portal/queries/types.js';
import { RetentionService } from '../../proxy/retention/service.js';
import { DATA_TYPES, RETENTION_COLLECTIONS, type DataType, type HoldScope, type PolicyScope, type Run } from '../../proxy/retention/types.js';
import { cleanEnv } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { AUDITOR, createUsers, login, portalApp } from '../helpers/portal-app.js';
import { generateRetentionData, prng, type GeneratedData } from '../helpers/retention-data.js';
import { alwaysInvariants, auditorSeesNoArchived, settledInvariants } from '../helpers/retention-invariants.js';
import { expectedOutcomes, type Outcome } from '../integration/retention/oracle.js';

/**
 * Issue 9, "Safety": SIGKILL an enforcing retention run at random points (seeded), restart it until it completes,
 * and prove after every kill and every completion that no record or binary is gone without a tombstone, no held
 * data is archived or destroyed, an auditor sees no archived record, GridFS has no orphans, and finally that every
 * record and binary ends where the rules say (the independent oracle of the randomized suite).
 */
const TRIALS = Number(process.env.RETENTION_CRASH_TRIALS ?? 20);
const SEED = Number(process.env.RETENTION_CRASH_SEED ?? 0x5eed9);
/** Small batches with a pause: a run lasts a few seconds, so the kills land all over it. */
const BATCH_SIZE = 3;
const BATCH_PAUSE_MS = 25;
const DATA_SIZE = 1;
/**
 * The disposition lock's time in the trials. With the service's default (60 s) a restart after a kill that landed
 * while the lock was held waits 30 s, fails its first policy with DISPOSITION_LOCKED and needs another restart
 * (the known defect the last test of this file guards); 5 s keeps the trials inside their time budget.
 */
const LOCK_TTL_MS = 5_000;
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The enforcing run in a child process: the built RetentionService (dist/), marking runs a crash cut short as
 * interrupted, then one full run, as `retention-proxy retention run` does (the verb is not in the CLI yet).
 */
const CHILD = `
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const job = JSON.parse(process.env.RP_RETENTION_JOB);
const req = createRequire(job.repo + 'package.json');
const load = async (p) => { const m = await import(pathToFileURL(p).href); return m.default ?? m; };
const { MongoClient } = await load(req.resolve('mongodb'));
const { pino } = await load(req.resolve('pino'));
const { RetentionService } = await import(pathToFileURL(job.repo + 'dist/proxy/retention/index.js').href);
const log = pino({ level: 'info' }, pino.destination({ fd: 2, sync: true }));
const client = await MongoClient.connect(job.uri);
try {
  const svc = new RetentionService({ db: client.db(job.dbName), log, writeConcernTimeoutMs: 10000, nodeId: 'crash-node', batchSize: job.batchSize, batchPauseMs: job.batchPauseMs, lockTtlMs: job.lockTtlMs });
  await svc.markInterrupted();
  const run = await svc.run({ trigger: 'cli', requestedBy: 'cli' });
  process.stdout.write(JSON.stringify({ runId: run._id, state: run.state, errors: run.errors, done: run.done }));
  process.exitCode = run.state === 'done' ? 0 : 1;
} finally {
  await client.close();
}
`;

interface ChildResult { code: number | null; killed: boolean; ms: number; stdout: string; stderr: string }

interface ChildOptions {
  /** SIGKILL after this long. */
  killAfterMs?: number;
  /** Polled every 20 ms: SIGKILL as soon as it resolves true. */
  killWhen?: () => Promise<boolean>;
  /** The disposition lock's time (default: the service's, 60 s). */
  lockTtlMs?: number;
  timeoutMs?: number;
}

function runChild(childPath: string, dbName: string, opts: ChildOptions = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const job = { repo: REPO, uri: inject('mongoUri'), dbName, batchSize: BATCH_SIZE, batchPauseMs: BATCH_PAUSE_MS, lockTtlMs: opts.lockTtlMs };
    const started = performance.now();
    const child = spawn(process.execPath, [childPath], { env: cleanEnv({ RP_RETENTION_JOB: JSON.stringify(job) }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    let closed = false;
    const kill = (): void => {
      if (!closed && child.exitCode === null) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    const killer = opts.killAfterMs === undefined ? undefined : setTimeout(kill, opts.killAfterMs);
    const timeout = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    const poll = async (): Promise<void> => {
      while (!closed && !killed && opts.killWhen) {
        if (await opts.killWhen()) kill();
        else await sleep(20);
      }
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      closed = true;
      clearTimeout(killer);
      clearTimeout(timeout);
      resolve({ code, killed, ms: performance.now() - started, stdout, stderr });
    });
    poll().catch(reject);
  });
}

function scopeFor(r: ReturnType<typeof prng>, type: DataType): PolicyScope {
  if (r.chance(0.6)) return { kind: 'all' };
  if (type === 'enquiries') return { kind: 'channel', values: [r.pick(['web', 'phone', 'mail'])] };
  if (type === 'staff') return { kind: 'department', values: [r.pick(['sales', 'support', 'legal'])] };
  if (type === 'contacts') return { kind: 'all' };
  return { kind: 'room', ids: [...new Set([`r${r.int(0, 3)}`, `r${r.int(4, 7)}`])] };
}

/** Enforcing policies on most data types (some overlapping), and one or two holds. */
async function setUp(svc: RetentionService, r: ReturnType<typeof prng>): Promise<void> {
  const types: DataType[] = [...DATA_TYPES.filter(() => r.chance(0.85)), r.pick(['calls', 'messages', 'files', 'media:call-recording'] as const)];
  for (const [i, dataType] of types.entries()) {
    const name = `Crash policy ${i}`;
    await svc.createPolicy({ id: `c${i}`, name, dataType, scope: scopeFor(r, dataType), activeDays: r.int(200, 2200), archiveDays: r.int(0, 1600) }, 'admin');
    if (r.chance(0.9)) await svc.setPolicyMode(`c${i}`, 'enforce', name, 'admin');
  }
  for (let h = r.int(1, 2); h > 0; h--) {
    const scope: HoldScope = r.chance(0.5) ? { staff: [`s${r.int(0, 5)}`] } : r.chance(0.5) ? { rooms: [`r${r.int(0, 7)}`] } : { enquiries: [`e${r.int(0, 7)}`] };
    if (r.chance(0.3)) scope.from = new Date(Date.now() - r.int(1500, 4000) * 86_400_000);
    await svc.createHold({ name: `Matter ${h}`, reason: 'litigation', scope }, 'admin');
  }
}

/** Drops everything but the portal's users and sessions. */
async function reset(t: TestDatabase): Promise<void> {
  for (const c of await t.db.listCollections({}, { nameOnly: true }).toArray()) if (!c.name.startsWith('portal.')) await t.db.collection(c.name).drop();
}

/** Where the kill landed, read from the run document the child left. */
async function killPoint(t: TestDatabase, killed: boolean): Promise<string> {
  if (!killed) return 'not killed (run finished first)';
  const run = await t.db.collection<Run & { inFlight?: string[] }>(RETENTION_COLLECTIONS.runs).find({}).sort({ startedAt: -1 }).limit(1).next();
  if (!run) return 'before the run started';
  if (run.state !== 'running') return run.state;
  if (run.inFlight) return 'destructive batch in flight';
  return run.done.length === 0 ? 'running, before the first batch' : 'running, between batches';
}

/** Records and binaries not where the oracle says (ignoring those whose due date fell between generation and check). */
async function misplaced(t: TestDatabase, data: GeneratedData, policiesAt: Date): Promise<{ bad: string[]; counts: Record<Outcome, number> }> {
  const svc = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'check' });
  const [policies, holds] = [await svc.listPolicies(), await svc.listHolds()];
  const atGen = expectedOutcomes(data, policies, holds);
  const atEnd = expectedOutcomes({ ...data, now: policiesAt }, policies, holds);
  const bad: string[] = [];
  const counts: Record<Outcome, number> = { keep: 0, archive: 0, destroy: 0 };
  for (const [col, docs] of data.docs) {
    const stored = new Map((await t.db.collection(col).find({}, { projection: { _archived: 1 } }).toArray()).map((d) => [String(d._id), d]));
    for (const d of docs) {
      const k = `${col}|${String(d._id)}`;
      const want = atGen.records.get(k);
      if (!want || want !== atEnd.records.get(k)) continue;
      counts[want]++;
      const now = stored.get(String(d._id));
      const got: Outcome = !now ? 'destroy' : now._archived ? 'archive' : 'keep';
      if (got !== want) bad.push(`${k}: ${got}, expected ${want}`);
    }
  }
  const media = new Map((await t.db.collection<{ _id: string; metadata?: { archived?: unknown } }>('media.files').find({}, { projection: { metadata: 1 } }).toArray()).map((m) => [m._id, m]));
  for (const [path, want] of atGen.media) {
    if (want !== atEnd.media.get(path)) continue;
    const m = media.get(path);
    const got: Outcome = !m ? 'destroy' : m.metadata?.archived ? 'archive' : 'keep';
    if (got !== want) bad.push(`media ${path}: ${got}, expected ${want}`);
  }
  return { bad, counts };
}

describe(`retention crash safety: ${TRIALS} SIGKILLs at random points of enforcing runs`, () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let headers: Record<string, string>;
  let dir: string;
  let childPath: string;

  beforeAll(async () => {
    t = await testDatabase('ret_crash');
    await createUsers(t.db);
    app = await portalApp(t.name);
    headers = (await login(app, AUDITOR)).headers;
    dir = await mkdtemp(join(tmpdir(), 'rp-ret-crash-'));
    childPath = join(dir, 'retention-run.mjs');
    await writeFile(childPath, CHILD);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('leaves nothing gone without a tombstone, nothing held touched, nothing archived visible, no orphaned media; every record ends where the rules say', async () => {
    const r = prng(SEED);
    const violations: string[] = [];
    const kills: string[] = [];
    const totals: Record<Outcome, number> = { keep: 0, archive: 0, destroy: 0 };
    let restarts = 0;
    let durationMs = 0;

    // Trial -1 is not killed: it measures how long a whole run takes, so the kill times spread over it.
    for (let i = -1; i < TRIALS; i++) {
      const T0 = performance.now();
      const lap = (m: string): void => { if (process.env.RC_DEBUG) console.log(`trial ${i} ${m} ${Math.round(performance.now() - T0)} ms`); };
      await reset(t);
      lap('reset');
      const data = await generateRetentionData(t.db, SEED + i * 101, DATA_SIZE);
      const setup = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'setup' });
      await setup.ensureIndexes();
      await setUp(setup, r);
      lap('generated+setup');
      const expected = expectedOutcomes(data, await setup.listPolicies(), await setup.listHolds());
      const heldMedia = new Set((data.docs.get(RECORD_COLLECTIONS.files) ?? []).filter((d) => expected.held.has(`${RECORD_COLLECTIONS.files}|${String(d._id)}`)).map((d) => String(d.storagePath)));
      const check = async (phase: string, settled: boolean): Promise<void> => {
        const found = [
          ...(await alwaysInvariants(t.db, data, expected.held, heldMedia)),
          ...(await auditorSeesNoArchived(app, headers, t.db)),
          ...(settled ? await settledInvariants(t.db, data) : []),
        ];
        violations.push(...found.map((v) => `trial ${i} ${phase}: ${v}`));
      };

      if (i >= 0) {
        // Killed once, sometimes twice (the second time during the restart's settling of the first).
        for (let k = r.chance(0.25) ? 2 : 1; k > 0; k--) {
          const res = await runChild(childPath, t.name, { killAfterMs: Math.floor(r.next() * durationMs), lockTtlMs: LOCK_TTL_MS });
          kills.push(await killPoint(t, res.killed));
          lap(`killed after ${Math.round(res.ms)} ms at ${kills.at(-1)}`);
          await check(`after kill ${kills.at(-1)}`, false);
          lap('checked');
        }
      }
      let final: ChildResult | undefined;
      for (let n = 0; n < 4 && final?.code !== 0; n++) {
        final = await runChild(childPath, t.name, { lockTtlMs: LOCK_TTL_MS });
        restarts++;
        lap(`restart ${final.code} in ${Math.round(final.ms)} ms`);
      }
      expect(final?.code, `trial ${i}: ${final?.stdout} ${final?.stderr.slice(-3000)}`).toBe(0);
      if (i < 0) durationMs = final?.ms ?? 0;
      await check('after completion', true);
      lap('checked');
      const { bad, counts } = await misplaced(t, data, new Date());
      violations.push(...bad.map((v) => `trial ${i}: ${v}`));
      for (const o of ['keep', 'archive', 'destroy'] as const) totals[o] += counts[o];
    }

    expect(violations).toEqual([]);
    // The trials really interrupted runs mid-way, and the data really was archived and destroyed.
    expect(kills.filter((k) => k.startsWith('running') || k.startsWith('destructive')).length).toBeGreaterThanOrEqual(Math.floor(TRIALS * 0.6));
    expect(totals.archive).toBeGreaterThan(TRIALS * 5);
    expect(totals.destroy).toBeGreaterThan(TRIALS * 10);
    console.log(`retention crash trials: ${TRIALS}; kills ${kills.length}; kill points: ${JSON.stringify(countBy(kills))}; restarts ${restarts}; ` +
      `run ~${Math.round(durationMs)} ms; records and media checked: ${JSON.stringify(totals)}`);
  });

  // KNOWN DEFECT (proxy/retention/lock.ts, executor.ts), kept as it.fails: flip to it() when the fix lands. A process
  // killed while it holds the disposition lock leaves the lock document until it expires (lockTtlMs, 60 s); the
  // restart waits at most LOCK_WAIT_MS (30 s) per policy, so its first policy fails DISPOSITION_LOCKED and the run ends
  // 'failed' after about a minute, and only a second restart completes.
  it.fails('a restart right after a SIGKILL while the disposition lock is held completes at once (default lock time)', async () => {
    await reset(t);
    await generateRetentionData(t.db, SEED - 1, DATA_SIZE);
    const setup = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'setup' });
    await setUp(setup, prng(SEED - 1));
    const lockHeld = async (): Promise<boolean> => {
      const run = await t.db.collection<Run>(RETENTION_COLLECTIONS.runs).findOne({ state: 'running' });
      return run !== null && (await t.db.collection(RETENTION_COLLECTIONS.locks).countDocuments({ expiresAt: { $gt: new Date() } })) > 0;
    };
    const killed = await runChild(childPath, t.name, { killWhen: lockHeld });
    expect(killed.killed).toBe(true);
    const restart = await runChild(childPath, t.name, { timeoutMs: 12_000 });
    expect(restart.code, `${restart.stdout} ${restart.stderr.slice(-2000)}`).toBe(0);
  });
});

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
