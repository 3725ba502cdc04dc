import { randomBytes } from 'node:crypto';
import type { Collection } from 'mongodb';
import { dbCall } from '../db/write-concern.js';
import { ProxyError, errorCodeOf, isProxyError } from '../errors.js';
import { fenceGuard, throwIfFenced } from '../ha/fence.js';
import type { ResolvedDeps } from './deps.js';
import { executePolicy, type ExecContext } from './executor.js';
import { HoldSet } from './hold-filter.js';
import type { HoldStore } from './hold-store.js';
import { DispositionLock, holderGone, PROCESS_SPACE, serverNow, type LockHandle } from './lock.js';
import { planPolicy } from './planner.js';
import { POLICY_FACTS, policiesFingerprint, type PolicyStore } from './policy-store.js';
import { settleInFlight } from './tombstones.js';
import { RETENTION_COLLECTIONS, type Actor, type DataType, type PolicyMode, type Run, type RunDone, type RunError, type RunTrigger } from './types.js';

/** A run document while a destructive batch is under way: the ids of the tombstones it wrote. */
export interface RunDoc extends Run { inFlight?: string[]; inFlightAt?: Date; pid?: number; host?: string; pidNs?: string | null }

export interface RunRequest {
  /** Only these policies (default: every policy). */
  policyIds?: string[];
  trigger: RunTrigger;
  /** Portal user, 'cli' or 'scheduler'. */
  requestedBy: Actor;
}

/** Where run outcomes and record counts are counted (/metrics). */
export interface RetentionCounters {
  /** 'interrupted': a run a crash cut short, counted when the next start marks it. */
  runFinished(outcome: 'done' | 'failed' | 'interrupted', at: Date): void;
  records(action: 'archived' | 'destroyed' | 'restored', dataType: DataType, n: number): void;
}

export const NO_COUNTERS: RetentionCounters = { runFinished: () => undefined, records: () => undefined };

const MAX_LIST = 200;
/** How long a run waits for the run lock (another process's run) and the disposition lock to settle. */
const RUN_LOCK_WAIT_MS = 1_000;
const SETTLE_WAIT_MS = 30_000;

/** Runs: plan every policy, then execute the enforcing ones; kept in `retention.runs`. One at a time per process. */
export class RunManager {
  readonly col: Collection<RunDoc>;
  private current: { id: string; done: Promise<Run>; abort: AbortController } | undefined;
  /** `retention.locks/run`: one run at a time across processes (the daemon and a CLI run on the same site). */
  private readonly runLock: DispositionLock;

  constructor(
    private readonly deps: ResolvedDeps,
    private readonly policies: PolicyStore,
    private readonly holds: HoldStore,
    private readonly lock: DispositionLock,
    private readonly counters: RetentionCounters,
  ) {
    this.col = deps.db.collection<RunDoc>(RETENTION_COLLECTIONS.runs);
    this.runLock = new DispositionLock(deps, 'run');
  }

  list(limit = 50): Promise<Run[]> {
    const n = Math.min(Math.max(1, Math.trunc(limit) || 50), MAX_LIST);
    return dbCall('listing retention runs', () => this.col.find({}, { projection: { inFlight: 0 } }).sort({ startedAt: -1, _id: -1 }).limit(n).toArray());
  }

  async get(id: string): Promise<Run> {
    const r = await dbCall('reading a retention run', () => this.col.findOne({ _id: id }, { projection: { inFlight: 0 } }));
    if (!r) throw new ProxyError('NOT_FOUND', `retention run ${id}`);
    return r;
  }

  /** NOT_LEADER when HA is on and another node leads. */
  assertLeader(): void {
    const lease = this.deps.lease;
    if (!lease || lease.status().holder) return;
    const leader = lease.status().leader;
    throw new ProxyError('NOT_LEADER', leader ? `${leader.nodeId} is the leader` : 'no leader right now; try again in a moment', { details: leader ? { leader: leader.nodeId } : {} });
  }

  /** A run, awaited. `planOnly`: plan and store it, change nothing (`retention plan`). */
  run(req: RunRequest, planOnly: boolean): Promise<Run> {
    return this.begin(req, planOnly).done;
  }

  /** Starts a run and returns its id at once (portal "run now"). */
  start(req: RunRequest): { runId: string } {
    const { id, done } = this.begin(req, false);
    done.catch((err: unknown) => this.deps.log.error({ err, runId: id }, 'retention run failed'));
    return { runId: id };
  }

  idle(): Promise<void> {
    return this.current ? this.current.done.then(() => undefined, () => undefined) : Promise.resolve();
  }

  stop(): void {
    this.current?.abort.abort(new ProxyError('DOWNLOAD_ABORTED', 'retention run stopped (shutdown)'));
  }

  private begin(req: RunRequest, planOnly: boolean): { id: string; done: Promise<Run> } {
    this.assertLeader();
    if (this.current) throw new ProxyError('RUN_IN_PROGRESS', `run ${this.current.id} is under way`);
    const id = `${this.deps.now().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
    const abort = new AbortController();
    const done = this.execute(id, req, planOnly, abort.signal).finally(() => {
      this.current = undefined;
    });
    this.current = { id, done, abort };
    return { id, done };
  }

  /**
   * Takes the run lock for the whole run (RUN_IN_PROGRESS naming the holder when another process runs one), keeps it
   * alive on the server clock while the run lasts (a lost lock stops the run before its next batch).
   */
  private async execute(runId: string, req: RunRequest, planOnly: boolean, signal: AbortSignal): Promise<Run> {
    const token = fenceGuard(this.deps.lease).token;
    let handle: LockHandle;
    try {
      handle = await this.runLock.acquire(`retention run ${runId}`, RUN_LOCK_WAIT_MS, { runId, ...(token !== undefined ? { fence: token } : {}) });
    } catch (err) {
      if (!isProxyError(err, 'DISPOSITION_LOCKED')) throw err;
      throw new ProxyError('RUN_IN_PROGRESS', `another process runs retention (${err.message})`, { details: { ...err.details } });
    }
    const lost = new AbortController();
    // One confirmation at a time: a slow one (majority write) must not make the next beat find the local deadline
    // passed and give the lock up while it is still valid in the database.
    let confirming = false;
    const beat = setInterval(() => {
      if (confirming) return;
      confirming = true;
      handle.confirm().catch((err: unknown) => lost.abort(err)).finally(() => {
        confirming = false;
      });
    }, Math.max(100, Math.floor(Math.min(this.deps.lockTtlMs / 4, (this.deps.lockTtlMs - 2 * this.deps.writeConcernTimeoutMs - 1_000) / 3))));
    beat.unref();
    try {
      return await this.executeLocked(runId, req, planOnly, AbortSignal.any([signal, lost.signal]));
    } finally {
      clearInterval(beat);
      await this.runLock.release(handle).catch(() => undefined);
    }
  }

  private async executeLocked(runId: string, req: RunRequest, planOnly: boolean, signal: AbortSignal): Promise<Run> {
    const { deps } = this;
    const started = performance.now();
    const now = deps.now();
    const all = await this.policies.list();
    const unknown = (req.policyIds ?? []).filter((id) => !all.some((p) => p._id === id));
    if (unknown.length > 0) throw new ProxyError('NOT_FOUND', `retention policy ${unknown.join(', ')}`);
    const selected = req.policyIds ? all.filter((p) => req.policyIds?.includes(p._id)) : all;
    const guard = fenceGuard(deps.lease);
    const modes: Record<string, PolicyMode> = Object.fromEntries(selected.map((p) => [p._id, p.mode]));
    const run: RunDoc = {
      _id: runId, policyIds: selected.map((p) => p._id), trigger: req.trigger, modes, state: 'planning', startedAt: now, node: deps.nodeId, pid: process.pid, ...PROCESS_SPACE,
      ...(guard.token !== undefined ? { fence: guard.token } : {}), requestedBy: req.requestedBy, planOnly, plan: [], done: [], errors: [],
    };
    await dbCall('starting a retention run', () => this.col.insertOne(run, { writeConcern: deps.writeConcern }));
    deps.log.info({ runId, planOnly, trigger: req.trigger, policies: run.policyIds.length }, 'retention run started');
    const errors: RunError[] = [];
    const done: RunDone[] = [];
    try {
      if (!planOnly) {
        // Only the leader gets here, holding the run lock: any other run still 'planning'/'running' was cut short.
        // Settling takes the disposition lock too, so it never races a batch still under way elsewhere.
        await this.lock.with('settling interrupted retention runs', SETTLE_WAIT_MS, async () => {
          await this.markInterruptedLocked();
          await this.settleOthers(runId);
        });
      }
      const holds = await HoldSet.load(deps.db, await this.holds.activeSince(now));
      for (const p of selected) run.plan.push(await planPolicy(deps.db, p, all, holds, now));
      await this.fenced(runId, { $set: { plan: run.plan, state: 'running' } });
      if (!planOnly) {
        const planned = policiesFingerprint(all);
        const ctx: ExecContext = {
          deps, lock: this.lock, runId, now, signal,
          checkPolicies: async () => {
            const nowPolicies = await this.policies.col.find({}, { projection: POLICY_FACTS }).toArray();
            if (policiesFingerprint(nowPolicies) !== planned) throw new ProxyError('POLICY_CHANGED', 'a retention policy was changed, switched or deleted during the run; nothing more is executed in this run');
          },
          loadHolds: async () => HoldSet.load(deps.db, await this.holds.activeSince(now)),
          beginBatch: (inFlight) => this.fenced(runId, { $set: { inFlight }, $currentDate: { inFlightAt: true } }),
          endBatch: async (policyId, delta) => {
            const entry = done.find((d) => d.policyId === policyId);
            if (entry) {
              entry.archived += delta.archived;
              entry.destroyed += delta.destroyed;
            }
            const p = selected.find((x) => x._id === policyId);
            if (p && delta.archived > 0) this.counters.records('archived', p.dataType, delta.archived);
            if (p && delta.destroyed > 0) this.counters.records('destroyed', p.dataType, delta.destroyed);
            await this.fenced(runId, { $set: { done }, $unset: { inFlight: '' } });
          },
        };
        for (const p of selected.filter((x) => x.mode === 'enforce')) {
          done.push({ policyId: p._id, archived: 0, destroyed: 0 });
          try {
            await executePolicy(ctx, p, all);
          } catch (err) {
            errors.push({ policyId: p._id, code: errorCodeOf(err), message: (err as Error).message });
            deps.log.error({ err, runId, policyId: p._id }, 'retention policy failed');
            if (isProxyError(err, 'LEASE_LOST') || signal.aborted) break;
          }
        }
      }
    } catch (err) {
      errors.push({ code: errorCodeOf(err), message: (err as Error).message });
      deps.log.error({ err, runId }, 'retention run failed');
    }
    const state = errors.length > 0 ? 'failed' : 'done';
    const finishedAt = deps.now();
    const durationMs = Math.round(performance.now() - started);
    Object.assign(run, { state, finishedAt, durationMs, errors, done });
    try {
      await this.fenced(runId, { $set: { state, finishedAt, durationMs, errors, done } });
    } catch (err) {
      deps.log.error({ err, runId }, 'could not record the end of a retention run');
    }
    this.counters.runFinished(state, finishedAt);
    deps.log.info({ runId, state, planOnly, durationMs, done, errors: errors.length }, 'retention run finished');
    return run;
  }

  /** A write on the run document, fenced with this term's token (LEASE_LOST once a newer leader stamped it). */
  private async fenced(runId: string, update: { $set?: Record<string, unknown>; $unset?: Record<string, ''>; $currentDate?: Record<string, true> }): Promise<void> {
    const guard = fenceGuard(this.deps.lease);
    const r = await dbCall('updating a retention run', () =>
      this.col.updateOne({ _id: runId, ...guard.filter }, { ...update, $set: { ...update.$set, ...guard.set } }, { writeConcern: this.deps.writeConcern }),
    );
    if (r.matchedCount === 0) {
      await throwIfFenced(this.col, runId, guard);
      throw new ProxyError('NOT_FOUND', `retention run ${runId}`);
    }
  }

  /**
   * Batches other runs left in flight (crash, failure): finished or undone (tombstones.ts settleInFlight). A batch
   * begun less than the lock time ago (server clock) may still be running on a slow process: it is left for a later
   * run, unless it was this node's and its process is gone.
   */
  private async settleOthers(runId: string): Promise<void> {
    const now = await serverNow(this.deps.db);
    for (const r of await this.col.find({ inFlight: { $exists: true }, _id: { $ne: runId } }, { projection: { inFlight: 1, inFlightAt: 1, node: 1, pid: 1, host: 1, pidNs: 1 } }).toArray()) {
      const young = r.inFlightAt instanceof Date && now.getTime() - r.inFlightAt.getTime() < this.deps.lockTtlMs;
      const gone = holderGone(r, this.deps.nodeId);
      if (young && !gone) {
        this.deps.log.warn({ runId: r._id }, 'a retention batch begun less than the lock time ago is left in flight for a later run');
        continue;
      }
      const settled = await settleInFlight(this.deps, r.inFlight ?? []);
      await this.fenced(r._id, { $unset: { inFlight: '' } });
      this.deps.log.info({ runId: r._id, ...settled }, 'settled the batch a previous retention run left in flight');
    }
  }

  /**
   * At start on the leader: runs left 'planning'/'running' by a crash become 'interrupted' (fenced off). Only while
   * no process holds the run lock (a run under way elsewhere is not interrupted): 0 then.
   */
  async markInterrupted(): Promise<number> {
    const token = fenceGuard(this.deps.lease).token;
    try {
      return await this.runLock.with('marking interrupted retention runs', RUN_LOCK_WAIT_MS, () => this.markInterruptedLocked(), token !== undefined ? { fence: token } : {});
    } catch (err) {
      if (isProxyError(err, 'DISPOSITION_LOCKED')) return 0;
      throw err;
    }
  }

  private async markInterruptedLocked(): Promise<number> {
    const guard = fenceGuard(this.deps.lease);
    const mine = this.current?.id;
    const r = await dbCall('marking interrupted retention runs', () =>
      this.col.updateMany(
        { state: { $in: ['planning', 'running'] }, ...(mine ? { _id: { $ne: mine } } : {}), ...guard.filter },
        { $set: { state: 'interrupted', finishedAt: this.deps.now(), ...guard.set } },
        { writeConcern: this.deps.writeConcern },
      ),
    );
    if (r.modifiedCount > 0) this.deps.log.warn({ runs: r.modifiedCount }, 'retention runs cut short by a restart marked interrupted');
    for (let i = 0; i < r.modifiedCount; i++) this.counters.runFinished('interrupted', this.deps.now());
    return r.modifiedCount;
  }
}
