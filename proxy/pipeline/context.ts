import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { JobStore } from '../db/jobs.js';
import type { Outbox } from '../db/outbox.js';
import type { ErrorCode } from '../errors.js';
import type { SftpSession } from '../sftp/connect.js';
import type { Staging } from './staging.js';

/** Everything a sync cycle needs, passed in (tests and the CLI build it; nothing is global). */
export interface PipelineContext {
  readonly config: Config;
  readonly db: Db;
  readonly jobs: JobStore;
  readonly outbox: Outbox;
  readonly staging: Staging;
  readonly log: Logger;
  /** Opens an SFTP session to the vendor (pinned host key). */
  readonly connectSftp: () => Promise<SftpSession>;
  readonly now: () => Date;
  readonly signal?: AbortSignal;
  /** Counters and timings for /metrics (proxy/metrics/metrics.ts); optional so tests and one-shot commands can skip them. */
  readonly metrics?: PipelineMetrics;
  /** Retention: serializes an import's writes with disposition batches on this process (proxy/retention/mutex.ts). */
  readonly recordWrites?: { run<T>(fn: () => Promise<T>): Promise<T> };
}

export type PipelineStage = 'download' | 'import' | 'report' | 'cycle';

/** What the pipeline tells the metrics, free of any metrics library. */
export interface PipelineMetrics {
  archivePulled(bytes: number): void;
  archiveImported(records: number): void;
  stageSeconds(stage: PipelineStage, seconds: number): void;
  failure(code: ErrorCode): void;
  cycleFinished(ok: boolean, at: Date): void;
}
