import type { Db, WriteConcernSettings } from 'mongodb';
import type { Logger } from 'pino';
import type { Fence, LeaseStatus } from '../ha/lease.js';

/** What the retention services need; built once per process (no singletons). */
export interface RetentionDeps {
  db: Db;
  log: Logger;
  /** wtimeoutMS of the majority write concern of every retention write. */
  writeConcernTimeoutMs: number;
  /** HA: the leader lease (fencing token and status); undefined on a single VM, where this process always leads. */
  lease?: Fence & { status(): LeaseStatus };
  /** This node's name, stored on runs. */
  nodeId: string;
  /** Records per destructive batch (config `retention.batchSize`, default 500). */
  batchSize?: number;
  /** Pause between batches (config `retention.batchPauseMs`, default 200). */
  batchPauseMs?: number;
  /** How long one batch may hold the disposition lock (default 20 s; a holder that died frees it after this). */
  lockTtlMs?: number;
  now?: () => Date;
  /**
   * Serializes disposition batches with the importer's record writes on this process (proxy/retention/mutex.ts).
   * Omitted: a private mutex (nothing else on the process writes records).
   */
  recordWrites?: { run<T>(fn: () => Promise<T>): Promise<T> };
}

export interface ResolvedDeps extends Required<Omit<RetentionDeps, 'lease'>> {
  lease: RetentionDeps['lease'];
  writeConcern: WriteConcernSettings;
}

export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_BATCH_PAUSE_MS = 200;
export const DEFAULT_LOCK_TTL_MS = 20_000;
