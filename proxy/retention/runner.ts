import { randomBytes } from 'node:crypto';
import type { Collection } from 'mongodb';
import { dbCall } from '../db/write-concern.js';
import { ProxyError, errorCodeOf, isProxyError } from '../errors.js';
import { fenceGuard, throwIfFenced } from '../ha/fence.js';
import type { ResolvedDeps } from './deps.js';
import { executePolicy, type ExecContext } from './executor.js';
import { HoldSet } from './hold-filter.js';
import type { HoldStore } from './hold-store.js';
import type { DispositionLock } from './lock.js';
import { planPolicy } from './planner.js';
import type { PolicyStore } from './policy-store.js';
import { settleInFlight } from './tombstones.js';
import { RETENTION_COLLECTIONS, type Actor, type DataType, type PolicyMode, type Run, type RunDone, type RunError, type RunTrigger } from './types.js';

/** A run document while a destructive batch is under way: the ids of the tombstones it wrote. */
export interface RunDoc extends Run { inFlight?: string[] }

export interface RunRequest {
  /** Only these policies (default: every policy). */
  policyIds?: string[];
  trigger: RunTrigger;
  /** Portal user, 'cli' or 'scheduler'. */
  requestedBy: Actor;
}

/** Where run outcomes and record counts are counted (/metrics). */
export interface RetentionCounters {
  runFinished(outcome: 'done' | 'failed', at: Date): void;
  records(action: 'archived' | 'destroyed' | 'restored', dataType: DataType, n: number): void;
}

export const NO_COUNTERS: RetentionCounters = { runFinished: () => undefined, records: () => undefined };

const MAX_LIST = 200;

/** Runs: plan every policy, then execute the enforcing ones; kept in `retention.runs`. One at a time per process. */
export class RunManager {
  readonly col: Collection<RunDoc>;
  private current: { id: string; done: Promise<Run>; abort: AbortController } | undefined;

  constructor(
    private readonly deps: ResolvedDeps,
    private readonly policies: PolicyStore,
    private readonly holds: HoldStore,
    private readonly lock: DispositionLock,
    private readonly counters: RetentionCounters,
  ) {
    this.col = deps.db.collection<RunDoc>(RETENTION_COLLECTIONS.runs);
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

  private async execute(runId: string, req: RunRequest, planOnly: boolean, signal: AbortSignal): Promise<Run> {
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
      _id: runId, policyIds: selected.map((p) => p._id), trigger: req.trigger, modes, state: 'planning', startedAt: now, node: deps.nodeId,
      ...(guard.token !== undefined ? { fence: guard.token } : {}), requestedBy: req.requestedBy, planOnly, plan: [], done: [], errors: [],
    };
    await dbCall('starting a retention run', () => this.col.insertOne(run, { writeConcern: deps.writeConcern }));
    deps.log.info({ runId, planOnly, trigger: req.trigger, policies: run.policyIds.length }, 'retention run started');
    const errors: RunError[] = [];
    const done: RunDone[] = [];
    try {
      if (!planOnly) {
        // Only the leader gets here, one run at a time: any other run still 'planning'/'running' was cut short.
        await this.markInterrupted();
        await this.settleOthers(runId);
      }
      const holds = await HoldSet.load(deps.db, await this.holds.active());
      for (const p of selected) run.plan.push(await planPolicy(deps.db, p, all, holds, now));
      await this.fenced(runId, { $set: { plan: run.plan, state: 'running' } });
      if (!planOnly) {
        const ctx: ExecContext = {
          deps, lock: this.lock, runId, now, signal,
          loadHolds: async () => HoldSet.load(deps.db, await this.holds.active()),
          beginBatch: (inFlight) => this.fenced(runId, { $set: { inFlight } }),
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
  private async fenced(runId: string, update: { $set?: Record<string, unknown>; $unset?: Record<string, ''> }): Promise<void> {
    const guard = fenceGuard(this.deps.lease);
    const r = await dbCall('updating a retention run', () =>
      this.col.updateOne({ _id: runId, ...guard.filter }, { ...update, $set: { ...update.$set, ...guard.set } }, { writeConcern: this.deps.writeConcern }),
    );
    if (r.matchedCount === 0) {
      await throwIfFenced(this.col, runId, guard);
      throw new ProxyError('NOT_FOUND', `retention run ${runId}`);
    }
  }

  /** Batches other runs left in flight (crash, failure): finished or undone (tombstones.ts settleInFlight). */
  private async settleOthers(runId: string): Promise<void> {
    for (const r of await this.col.find({ inFlight: { $exists: true }, _id: { $ne: runId } }, { projection: { inFlight: 1 } }).toArray()) {
      const settled = await settleInFlight(this.deps, r.inFlight ?? []);
      await this.fenced(r._id, { $unset: { inFlight: '' } });
      this.deps.log.info({ runId: r._id, ...settled }, 'settled the batch a previous retention run left in flight');
    }
  }

  /** At start on the leader: runs left 'planning'/'running' by a crash become 'interrupted' (fenced off). */
  async markInterrupted(): Promise<number> {
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
    return r.modifiedCount;
  }
}
