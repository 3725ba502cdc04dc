import type { ZipPart } from '../portal/export/zip-export.js';
import type { ListTypeName } from '../portal/queries/types.js';
import { ensureIndexes } from '../db/ensure-indexes.js';
import { ArchivedService } from './archived.js';
import { DATA_TYPE_DEFS, MEDIA_FILES } from './data-types.js';
import { DEFAULT_BATCH_PAUSE_MS, DEFAULT_BATCH_SIZE, DEFAULT_LOCK_TTL_MS, type ResolvedDeps, type RetentionDeps } from './deps.js';
import { holdExportParts } from './hold-export.js';
import { HoldStore } from './hold-store.js';
import { AuditLog } from '../portal/audit.js';
import { DispositionLock } from './lock.js';
import { Mutex } from './mutex.js';
import { PolicyStore } from './policy-store.js';
import { NO_COUNTERS, RunManager, type RetentionCounters, type RunRequest } from './runner.js';
import {
  RECORD_DATA_TYPES, RETENTION_COLLECTIONS, type Actor, type ArchivedDetail, type ArchivedPage, type ConfigPolicy, type DataType, type Hold, type HoldInput,
  type Policy, type PolicyInput, type PolicyMode, type PolicyPatch, type RecordStatus, type RestoreResult, type Run,
} from './types.js';

export type { RunRequest, RetentionCounters };

/** Summary for /metrics and `check`. */
export interface RetentionHealth {
  policies: number;
  lastFinished: { runId: string; state: Run['state']; finishedAt: Date } | null;
}

/**
 * Retention governance (docs/retention.md): policies, legal holds, runs (plan, archive, destroy), restore, and the
 * retention status of a record. The portal routes, the CLI and the scheduler call only this class.
 */
export class RetentionService {
  readonly policies: PolicyStore;
  readonly holds: HoldStore;
  readonly runs: RunManager;
  readonly archived: ArchivedService;
  private readonly resolved: ResolvedDeps;

  constructor(readonly deps: RetentionDeps, counters: RetentionCounters = NO_COUNTERS) {
    this.resolved = {
      db: deps.db,
      log: deps.log.child({ component: 'retention' }),
      writeConcernTimeoutMs: deps.writeConcernTimeoutMs,
      lease: deps.lease,
      nodeId: deps.nodeId,
      batchSize: deps.batchSize ?? DEFAULT_BATCH_SIZE,
      batchPauseMs: deps.batchPauseMs ?? DEFAULT_BATCH_PAUSE_MS,
      // More than 3x the write concern timeout (lock.ts): a statement started in time ends before the lock expires.
      lockTtlMs: deps.lockTtlMs ?? Math.max(DEFAULT_LOCK_TTL_MS, 3 * deps.writeConcernTimeoutMs + 5_000),
      now: deps.now ?? (() => new Date()),
      recordWrites: deps.recordWrites ?? new Mutex(),
      writeConcern: { w: 'majority', wtimeoutMS: deps.writeConcernTimeoutMs },
    };
    const lock = new DispositionLock(this.resolved);
    this.policies = new PolicyStore(this.resolved);
    this.holds = new HoldStore(this.resolved, lock);
    this.runs = new RunManager(this.resolved, this.policies, this.holds, lock, counters);
    this.archived = new ArchivedService(this.resolved, this.policies, this.holds, this.runs, counters);
  }

  /** The process's record-write mutex (imports, retention batches, restores, the room statistics backfill). */
  get recordWrites(): ResolvedDeps['recordWrites'] {
    return this.resolved.recordWrites;
  }

  /** Indexes of the retention collections and the `_archived` fields; idempotent. */
  async ensureIndexes(): Promise<void> {
    const db = this.resolved.db;
    // The lock collection exists from the start: a plan (which takes the run lock) leaves the database as it found it.
    if ((await db.listCollections({ name: RETENTION_COLLECTIONS.locks }, { nameOnly: true }).toArray()).length === 0) {
      await db.createCollection(RETENTION_COLLECTIONS.locks).catch((err: unknown) => {
        if ((err as { code?: number }).code !== 48) throw err; // NamespaceExists: another process made it meanwhile
      });
    }
    await ensureIndexes(db.collection(RETENTION_COLLECTIONS.runs), [{ name: 'startedAt', key: { startedAt: -1 } }]);
    await ensureIndexes(db.collection(RETENTION_COLLECTIONS.tombstones), [{ name: 'runId', key: { runId: 1 } }]);
    await ensureIndexes(db.collection(MEDIA_FILES), [{ name: 'metadata_archived_runId', key: { 'metadata.archived.runId': 1 } }]);
    for (const type of RECORD_DATA_TYPES) {
      await ensureIndexes(db.collection(DATA_TYPE_DEFS[type].collection), [{ name: '_archived_runId', key: { '_archived.runId': 1 } }]);
    }
  }

  // --- policies --------------------------------------------------------------------------------------------------
  listPolicies(): Promise<Policy[]> { return this.policies.list(); }
  /** NOT_FOUND when there is none. */
  getPolicy(id: string): Promise<Policy> { return this.policies.get(id); }
  /** VALIDATION, POLICY_EXISTS; the new policy is in dry-run, source 'portal'. */
  createPolicy(input: PolicyInput, actor: Actor): Promise<Policy> { return this.policies.create(input, actor); }
  /** VALIDATION, NOT_FOUND, POLICY_READ_ONLY (config policy). */
  updatePolicy(id: string, patch: PolicyPatch, actor: Actor): Promise<Policy> { return this.policies.update(id, patch, actor); }
  /** Switching to enforce needs `confirm` === the policy name (CONFIRMATION_MISMATCH); POLICY_READ_ONLY for config. */
  setPolicyMode(id: string, mode: PolicyMode, confirm: string | undefined, actor: Actor): Promise<Policy> { return this.policies.setMode(id, mode, confirm, actor); }
  /** NOT_FOUND, POLICY_READ_ONLY. */
  deletePolicy(id: string, _actor: Actor): Promise<void> { return this.policies.remove(id); }
  /** At start: upserts `retention.policies[]` of the config with source 'config' and removes config policies no longer listed. */
  async syncConfigPolicies(policies: readonly ConfigPolicy[]): Promise<void> {
    // A mode switch through the configuration (a new enforcing policy, or enforce <-> dry-run) is audited as user 'config'.
    const audit = new AuditLog(this.resolved.db, this.resolved.now);
    for (const { id, mode } of await this.policies.syncConfig(policies)) {
      await audit.record({ user: 'config', role: null, action: 'retention.policy.mode', target: `retention/policies/${id}`, ip: '', userAgent: 'configuration file', outcome: 'ok', details: { mode, source: 'config' } });
      this.resolved.log.warn({ policyId: id, mode }, 'retention policy mode set by the configuration');
    }
  }


  // --- legal holds -----------------------------------------------------------------------------------------------
  listHolds(state?: 'active' | 'released'): Promise<Hold[]> { return this.holds.list(state); }
  getHold(id: string): Promise<Hold> { return this.holds.get(id); }
  /** Serialized with disposition batches through the lock document (DISPOSITION_LOCKED if it cannot get it in time). */
  createHold(input: HoldInput, actor: Actor): Promise<Hold> { return this.holds.create(input, actor); }
  /** HOLD_RELEASED when already released. The data becomes eligible at the next run. */
  releaseHold(id: string, reason: string, actor: Actor): Promise<Hold> { return this.holds.release(id, reason, actor); }
  /** The ZIP parts of a hold export (records as JSON arrays per data type, their media); feed to zipExportStream. */
  async holdExportParts(id: string): Promise<AsyncIterable<ZipPart>> { return holdExportParts(this.resolved.db, await this.holds.get(id)); }

  // --- runs ------------------------------------------------------------------------------------------------------
  /** Newest first (limit default 50, max 200). */
  listRuns(limit?: number): Promise<Run[]> { return this.runs.list(limit); }
  getRun(id: string): Promise<Run> { return this.runs.get(id); }
  /** Computes and stores a plan for every (or the given) policy; changes no record, even for enforcing policies. */
  plan(req: RunRequest): Promise<Run> { return this.runs.run(req, true); }
  /** A full run, awaited: plan, then enforcing policies execute it. NOT_LEADER on a follower; RUN_IN_PROGRESS. */
  run(req: RunRequest): Promise<Run> { return this.runs.run(req, false); }
  /** "Run now" for the portal: starts a run in the background and answers its id (NOT_LEADER, RUN_IN_PROGRESS). */
  startRun(req: RunRequest): Promise<{ runId: string }> { return Promise.resolve().then(() => this.runs.start(req)); }
  /** Resolves when no run of this process is under way. */
  idle(): Promise<void> { return this.runs.idle(); }
  /** Asks a running run to stop before its next batch. */
  stop(): void { this.runs.stop(); }
  /** At start on the leader: runs left 'planning'/'running' by a crash become 'interrupted'. Returns how many. */
  markInterrupted(): Promise<number> { return this.runs.markInterrupted(); }
  async health(): Promise<RetentionHealth> {
    const [policies, last] = await Promise.all([
      this.resolved.db.collection(RETENTION_COLLECTIONS.policies).countDocuments({}),
      this.runs.col.find({ state: { $in: ['done', 'failed', 'interrupted'] }, planOnly: false }, { projection: { state: 1, finishedAt: 1 } }).sort({ finishedAt: -1 }).limit(1).toArray(),
    ]);
    const l = last[0];
    return { policies, lastFinished: l?.finishedAt ? { runId: l._id, state: l.state, finishedAt: l.finishedAt } : null };
  }

  // --- archive and restore ---------------------------------------------------------------------------------------
  /** `type` a record data type or media:*, `id` its business id (media: the storagePath). NOT_FOUND, NOT_ARCHIVED. */
  restoreRecord(type: DataType, id: string, reason: string, actor: Actor): Promise<RestoreResult> { return this.archived.restoreOne(type, id, reason, actor); }
  /** Everything a run archived that is still archived. NOT_FOUND. */
  restoreRun(runId: string, reason: string, actor: Actor): Promise<RestoreResult> { return this.archived.restoreRun(runId, reason, actor); }
  listArchived(type: DataType, opts: { limit?: number; cursor?: string }): Promise<ArchivedPage> { return this.archived.list(type, opts); }
  /** NOT_FOUND when the record does not exist or is not archived. */
  getArchived(type: DataType, id: string): Promise<ArchivedDetail> { return this.archived.get(type, id); }

  /** The "Retention" panel of a detail page. `type` a portal list type or a data type. NOT_FOUND. */
  recordStatus(type: ListTypeName | DataType, id: string): Promise<RecordStatus> { return this.archived.status(type, id); }
}
