import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RECORD_COLLECTIONS } from '../../proxy/portal/queries/types.js';
import { RetentionService } from '../../proxy/retention/service.js';
import { DATA_TYPES, RETENTION_COLLECTIONS, type DataType, type HoldScope, type PolicyScope, type Run } from '../../proxy/retention/types.js';
import { CLI, cleanEnv } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { AUDITOR, createUsers, login, portalApp } from '../helpers/portal-app.js';
import { generateRetentionData, prng, type GeneratedData } from '../helpers/retention-data.js';
import { alwaysInvariants, auditorSeesNoArchived, openRuns, settledInvariants } from '../helpers/retention-invariants.js';
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
const BATCH_SIZE = 4;
const BATCH_PAUSE_MS = 10;
const DATA_SIZE = 0.7;
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface ChildResult { code: number | null; killed: boolean; ms: number; stdout: string; stderr: string }

interface ChildOptions {
  /** Polled every 20 ms: SIGKILL `killDelayMs` after it first resolves true. */
  killWhen?: () => Promise<boolean>;
  killDelayMs?: number;
  timeoutMs?: number;
}

/** `retention-proxy retention run --json` (the built CLI) as a child process, SIGKILLed when told. */
function retentionRun(configPath: string, opts: ChildOptions = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, 'retention', 'run', '--json', '--config', configPath], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
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
    let killer: NodeJS.Timeout | undefined;
    const timeout = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    const poll = async (): Promise<void> => {
      while (!closed && opts.killWhen) {
        if (await opts.killWhen()) {
          killer = setTimeout(kill, opts.killDelayMs ?? 0);
          return;
        }
        await sleep(20);
      }
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      closed = true;
      if (killer) clearTimeout(killer);
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
    await svc.createPolicy({ id: `c${i}`, name, dataType, scope: scopeFor(r, dataType), activeDays: r.int(100, 1500), archiveDays: r.int(0, 1200) }, 'admin');
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

async function runCount(t: TestDatabase): Promise<number> {
  return t.db.collection(RETENTION_COLLECTIONS.runs).countDocuments({});
}

/** Records the run started after `before` runs has archived or destroyed so far (-1: no such run yet). */
async function progressOfNewRun(t: TestDatabase, before: number): Promise<number> {
  if ((await runCount(t)) <= before) return -1;
  const newest = await t.db.collection<Run>(RETENTION_COLLECTIONS.runs).find({}, { projection: { done: 1 } }).sort({ startedAt: -1 }).limit(1).next();
  return (newest?.done ?? []).reduce((a, d) => a + d.archived + d.destroyed, 0);
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

/** Written for one database: the CLI's retention batches are small and barely paused, so a run lasts a few seconds. */
async function writeConfig(dir: string, dbName: string): Promise<string> {
  const key = join(dir, 'sftp.key');
  await writeFile(key, 'not used: the retention verbs never connect to SFTP\n', { mode: 0o600 });
  await writeFile(join(dir, 'archive.key'), 'Archive-Key-1\n', { mode: 0o600 });
  const path = join(dir, 'config.yaml');
  await writeFile(path, `siteId: retention-crash
sftp:
  host: 127.0.0.1
  username: vendor
  privateKeyFile: ${key}
  hostKeyFingerprint: "SHA256:${'A'.repeat(43)}"
archive:
  keyFile: ${join(dir, 'archive.key')}
mongodb:
  uri: "${inject('mongoUri')}"
  database: ${dbName}
  writeConcernTimeoutMs: 10000
vendor:
  statusUrl: http://127.0.0.1:9/status
  signingSecret: not-used
staging:
  dir: ${join(dir, 'staging')}
  minFreeBytes: 0
retention:
  batchSize: ${BATCH_SIZE}
  batchPauseMs: ${BATCH_PAUSE_MS}
`, { mode: 0o600 });
  return path;
}

/** Whether the killed process left a disposition or run lock behind (the restart must take it over at once). */
async function lockLeftByKilledProcess(t: TestDatabase): Promise<boolean> {
  return (await t.db.collection(RETENTION_COLLECTIONS.locks).countDocuments({ expiresAt: { $gt: new Date() } })) > 0;
}

describe(`retention crash safety: ${TRIALS} SIGKILLs at random points of enforcing runs (built CLI)`, () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let headers: Record<string, string>;
  let dir: string;
  let config: string;
  /** Runs still 'planning'/'running' after a trial completed (a killed run must be marked interrupted). */
  const openRunsSeen: string[] = [];
  let trialsChecked = 0;

  beforeAll(async () => {
    t = await testDatabase('ret_crash');
    await createUsers(t.db);
    app = await portalApp(t.name);
    headers = (await login(app, AUDITOR)).headers;
    dir = await mkdtemp(join(tmpdir(), 'rp-ret-crash-'));
    config = await writeConfig(dir, t.name);
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
    let locksLeft = 0;
    let durationMs = 0;

    // Trial -1 is not killed: a whole run, for the figures (how long a run takes without the CLI's start-up).
    for (let i = -1; i < TRIALS; i++) {
      const t0 = performance.now();
      const lap = (m: string): void => {
        if (process.env.RETENTION_CRASH_DEBUG) console.log(`trial ${i} +${Math.round(performance.now() - t0)} ms: ${m}`);
      };
      await reset(t);
      const data = await generateRetentionData(t.db, SEED + i * 101, DATA_SIZE);
      const setup = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'setup' });
      await setup.ensureIndexes();
      await setUp(setup, r);
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
      const due = [...expected.records.values(), ...expected.media.values()].filter((o) => o !== 'keep').length;
      lap(`data, policies and holds in place; ${due} records and binaries due`);

      if (i >= 0) {
        // Killed once, sometimes twice (the second time while the restart settles the first). The first kill spreads
        // over most of a whole run's time, the second over the shorter rest.
        const killsNow = r.chance(0.25) ? 2 : 1;
        for (let k = 0; k < killsNow; k++) {
          const before = await runCount(t);
          // Kill once the new run has archived or destroyed a random share of what is due (0: while it plans), plus
          // a jitter that lands the kill anywhere in a batch: this follows the run whatever the machine's load.
          const share = r.chance(0.15) ? 0 : Math.max(1, Math.floor(r.next() * due * (k === 0 ? 0.9 : 0.4)));
          const res = await retentionRun(config, { killWhen: async () => (await progressOfNewRun(t, before)) >= share, killDelayMs: r.int(0, 150) });
          kills.push(await killPoint(t, res.killed));
          lap(`killed after ${Math.round(res.ms)} ms: ${kills.at(-1)}`);
          await check(`after a kill (${kills.at(-1)})`, false);
          if (await lockLeftByKilledProcess(t)) locksLeft++;
        }
      }
      let final: ChildResult | undefined;
      for (let n = 0; n < 4 && final?.code !== 0; n++) {
        final = await retentionRun(config);
        restarts++;
        lap(`restart: exit ${final.code} after ${Math.round(final.ms)} ms`);
      }
      expect(final?.code, `trial ${i}: ${final?.stdout.slice(-2000)} ${final?.stderr.slice(-3000)}`).toBe(0);
      if (i < 0) durationMs = (JSON.parse(final?.stdout ?? '{}') as { durationMs?: number }).durationMs ?? 0;
      await check('after completion', true);
      openRunsSeen.push(...(await openRuns(t.db)).map((id) => `trial ${i}: run ${id}`));
      const { bad, counts } = await misplaced(t, data, new Date());
      violations.push(...bad.map((v) => `trial ${i}: ${v}`));
      for (const o of ['keep', 'archive', 'destroy'] as const) totals[o] += counts[o];
      trialsChecked++;
      lap('checked');
    }

    expect(violations).toEqual([]);
    // The trials really interrupted runs mid-way, and the data really was archived and destroyed.
    expect(kills.filter((k) => k.startsWith('running') || k.startsWith('destructive')).length).toBeGreaterThanOrEqual(Math.floor(TRIALS * 0.6));
    expect(totals.archive).toBeGreaterThan(TRIALS * 2);
    expect(totals.destroy).toBeGreaterThan(TRIALS * 10);
    console.log(`retention crash trials: ${TRIALS}; kills ${kills.length}; kill points: ${JSON.stringify(countBy(kills))}; restarts ${restarts}; ` +
      `disposition lock left by the killed process: ${locksLeft}; whole run ${Math.round(durationMs)} ms; outcomes checked: ${JSON.stringify(totals)}`);
  });

  // Every killed run must not stay 'running' for ever: the next enforcing run marks it interrupted (runner.ts).
  it('every run a SIGKILL cut short is marked interrupted by the next `retention run`', () => {
    expect(trialsChecked).toBe(TRIALS + 1);
    expect(openRunsSeen).toEqual([]);
  });

  // A process killed while it holds the disposition lock leaves the lock document until it expires; the restart on
  // the same node sees that its holder's process is gone and takes the lock over at once (proxy/retention/lock.ts).
  it('a restart right after a SIGKILL while the disposition lock is held completes at once', async () => {
    // Its own database: FerretDB 1.24 (SQLite) can keep an index of a dropped collection's table, so recreating the
    // collection and creating that index again fails there ("index ... already exists"); a fresh database avoids the
    // drop-and-recreate the trials above use.
    const own = await testDatabase('ret_crash_lock');
    try {
      const ownDir = join(dir, 'lock');
      await mkdir(ownDir);
      const ownConfig = await writeConfig(ownDir, own.name);
      await generateRetentionData(own.db, SEED - 1, DATA_SIZE);
      await setUp(new RetentionService({ db: own.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'setup' }), prng(SEED - 1));
      const lockHeld = async (): Promise<boolean> => {
        const run = await own.db.collection<Run>(RETENTION_COLLECTIONS.runs).findOne({ state: 'running' });
        return run !== null && (await own.db.collection(RETENTION_COLLECTIONS.locks).countDocuments({ expiresAt: { $gt: new Date() } })) > 0;
      };
      const killed = await retentionRun(ownConfig, { killWhen: lockHeld });
      expect(killed.killed, `exit ${killed.code}: ${killed.stdout.slice(-1500)} ${killed.stderr.slice(-1500)}`).toBe(true);
      const restart = await retentionRun(ownConfig, { timeoutMs: 15_000 });
      expect(restart.code, `${restart.stdout.slice(-2000)} ${restart.stderr.slice(-2000)}`).toBe(0);
    } finally {
      await own.drop();
    }
  });
});

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
