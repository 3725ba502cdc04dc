import type { ZipPart } from '../portal/export/zip-export.js';
import type { ListTypeName } from '../portal/queries/types.js';
import { ProxyError } from '../errors.js';
import type { RetentionDeps } from './deps.js';
import type {
  Actor, ArchivedDetail, ArchivedPage, ConfigPolicy, DataType, Hold, HoldInput, Policy, PolicyInput, PolicyMode, PolicyPatch,
  RecordStatus, RestoreResult, Run, RunTrigger,
} from './types.js';

export interface RunRequest {
  /** Only these policies (default: every policy). */
  policyIds?: string[];
  trigger: RunTrigger;
  /** Portal user, 'cli' or 'scheduler'. */
  requestedBy: Actor;
}

/** Summary for /metrics and `check`. */
export interface RetentionHealth {
  policies: number;
  lastFinished: { runId: string; state: Run['state']; finishedAt: Date } | null;
}

const notImplemented = (what: string): never => {
  throw new ProxyError('NOT_IMPLEMENTED', what);
};

/**
 * Retention governance (docs/retention.md): policies, legal holds, runs (plan, archive, destroy), restore, and the
 * retention status of a record. The portal routes, the CLI and the scheduler call only this class.
 */
export class RetentionService {
  constructor(readonly deps: RetentionDeps) {}

  /** Indexes of the retention collections and the `_archived` fields; idempotent. */
  ensureIndexes(): Promise<void> { return Promise.resolve(notImplemented('ensureIndexes')); }

  // --- policies --------------------------------------------------------------------------------------------------
  listPolicies(): Promise<Policy[]> { return Promise.resolve(notImplemented('listPolicies')); }
  /** NOT_FOUND when there is none. */
  getPolicy(_id: string): Promise<Policy> { return Promise.resolve(notImplemented('getPolicy')); }
  /** VALIDATION, POLICY_EXISTS; the new policy is in dry-run, source 'portal'. */
  createPolicy(_input: PolicyInput, _actor: Actor): Promise<Policy> { return Promise.resolve(notImplemented('createPolicy')); }
  /** VALIDATION, NOT_FOUND, POLICY_READ_ONLY (config policy). */
  updatePolicy(_id: string, _patch: PolicyPatch, _actor: Actor): Promise<Policy> { return Promise.resolve(notImplemented('updatePolicy')); }
  /** Switching to enforce needs `confirm` === the policy name (CONFIRMATION_MISMATCH); POLICY_READ_ONLY for config. */
  setPolicyMode(_id: string, _mode: PolicyMode, _confirm: string | undefined, _actor: Actor): Promise<Policy> { return Promise.resolve(notImplemented('setPolicyMode')); }
  /** NOT_FOUND, POLICY_READ_ONLY. */
  deletePolicy(_id: string, _actor: Actor): Promise<void> { return Promise.resolve(notImplemented('deletePolicy')); }
  /** At start: upserts `retention.policies[]` of the config with source 'config' and removes config policies no longer listed. */
  syncConfigPolicies(_policies: readonly ConfigPolicy[]): Promise<void> { return Promise.resolve(notImplemented('syncConfigPolicies')); }

  // --- legal holds -----------------------------------------------------------------------------------------------
  listHolds(_state?: 'active' | 'released'): Promise<Hold[]> { return Promise.resolve(notImplemented('listHolds')); }
  getHold(_id: string): Promise<Hold> { return Promise.resolve(notImplemented('getHold')); }
  /** Serialized with disposition batches through the lock document (DISPOSITION_LOCKED if it cannot get it in time). */
  createHold(_input: HoldInput, _actor: Actor): Promise<Hold> { return Promise.resolve(notImplemented('createHold')); }
  /** HOLD_RELEASED when already released. The data becomes eligible at the next run. */
  releaseHold(_id: string, _reason: string, _actor: Actor): Promise<Hold> { return Promise.resolve(notImplemented('releaseHold')); }
  /** The ZIP parts of a hold export (records as JSON arrays per data type, their media); feed to zipExportStream. */
  holdExportParts(_id: string): Promise<AsyncIterable<ZipPart>> { return Promise.resolve(notImplemented('holdExportParts')); }

  // --- runs ------------------------------------------------------------------------------------------------------
  /** Newest first (limit default 50, max 200). */
  listRuns(_limit?: number): Promise<Run[]> { return Promise.resolve(notImplemented('listRuns')); }
  getRun(_id: string): Promise<Run> { return Promise.resolve(notImplemented('getRun')); }
  /** Computes and stores a plan for every (or the given) policy; changes no record, even for enforcing policies. */
  plan(_req: RunRequest): Promise<Run> { return Promise.resolve(notImplemented('plan')); }
  /** A full run, awaited: plan, then enforcing policies execute it. NOT_LEADER on a follower; RUN_IN_PROGRESS. */
  run(_req: RunRequest): Promise<Run> { return Promise.resolve(notImplemented('run')); }
  /** "Run now" for the portal: starts a run in the background and answers its id (NOT_LEADER, RUN_IN_PROGRESS). */
  startRun(_req: RunRequest): Promise<{ runId: string }> { return Promise.resolve(notImplemented('startRun')); }
  /** Resolves when no run of this process is under way. */
  idle(): Promise<void> { return Promise.resolve(); }
  /** Asks a running run to stop after its current batch. */
  stop(): void { /* nothing runs yet */ }
  /** At start on the leader: runs left 'planning'/'running' by a crash become 'interrupted'. Returns how many. */
  markInterrupted(): Promise<number> { return Promise.resolve(notImplemented('markInterrupted')); }
  health(): Promise<RetentionHealth> { return Promise.resolve(notImplemented('health')); }

  // --- archive and restore ---------------------------------------------------------------------------------------
  /** `type` a record data type or media:*, `id` its business id (media: the storagePath). NOT_FOUND, NOT_ARCHIVED. */
  restoreRecord(_type: DataType, _id: string, _reason: string, _actor: Actor): Promise<RestoreResult> { return Promise.resolve(notImplemented('restoreRecord')); }
  /** Everything a run archived that is still archived. NOT_FOUND. */
  restoreRun(_runId: string, _reason: string, _actor: Actor): Promise<RestoreResult> { return Promise.resolve(notImplemented('restoreRun')); }
  listArchived(_type: DataType, _opts: { limit?: number; cursor?: string }): Promise<ArchivedPage> { return Promise.resolve(notImplemented('listArchived')); }
  /** NOT_FOUND when the record does not exist or is not archived. */
  getArchived(_type: DataType, _id: string): Promise<ArchivedDetail> { return Promise.resolve(notImplemented('getArchived')); }

  /** The "Retention" panel of a detail page. `type` a portal list type or a data type. NOT_FOUND. */
  recordStatus(_type: ListTypeName | DataType, _id: string): Promise<RecordStatus> { return Promise.resolve(notImplemented('recordStatus')); }
}
