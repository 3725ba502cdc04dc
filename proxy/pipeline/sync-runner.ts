import type { Logger } from 'pino';
import { hostname } from 'node:os';
import { recordSiteSuccess } from '../db/site-status.js';
import type { JobState } from '../db/jobs.js';
import { errorCodeOf, isProxyError } from '../errors.js';
import type { PipelineContext } from './context.js';
import { runSyncCycle, type CycleState, type CycleSummary } from './sync-cycle.js';

export interface RunnerStatus {
  running: boolean;
  lastStartedAt?: string;
  lastFinishedAt?: string;
  lastOk?: boolean;
  lastSuccessAt?: string;
  lastError?: { code: string; message: string };
  /** What the last cycle got past without stopping (a peer SFTP server unreachable, an archive not removed). */
  warnings?: { code: string; message: string; server?: string }[];
}

/**
 * Job states the pipeline itself moves on: a job in one of them with `nextAttemptAt` ahead is waiting for its retry.
 * `imported` is not one: it waits for its "downloaded" report, whose outbox entry has its own `nextAttemptAt`.
 */
const RETRYABLE_STATES: JobState[] = ['discovered', 'downloading', 'downloaded', 'importing'];

/** HA: the leader lease as the runner sees it (proxy/ha/lease.ts). Without it, this process always runs its cycles. */
export interface Leadership {
  readonly holder: boolean;
  /** Aborted when the current term ends (lease lost, deadline missed, released). */
  readonly signal: AbortSignal;
  /** A write was fenced off (LEASE_LOST): this node is no longer the leader. */
  stepDown(reason: string): void;
}

/**
 * Runs sync cycles one at a time: a trigger while a cycle runs is skipped (never two cycles at once).
 * After a cycle with work left to retry, it arms one timer for the earliest retry.
 */
export class SyncRunner {
  private current: Promise<CycleSummary> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly state: CycleState = { loggedIgnored: new Set() };
  private readonly log: Logger;
  readonly status: RunnerStatus = { running: false };

  constructor(
    private readonly ctx: PipelineContext,
    private readonly options: { retryTimer: boolean } = { retryTimer: true },
    private readonly leadership?: Leadership,
  ) {
    this.log = ctx.log.child({ component: 'runner' });
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  /** Starts a cycle unless one is running; returns its summary, or undefined when skipped. */
  async trigger(reason: string): Promise<CycleSummary | undefined> {
    if (this.current) {
      this.log.info({ reason }, 'a cycle is already running; trigger skipped');
      return undefined;
    }
    if (this.ctx.signal?.aborted) return undefined;
    if (this.leadership && !this.leadership.holder) {
      this.log.debug({ reason }, 'not the leader; cycle skipped');
      return undefined;
    }
    this.log.info({ reason }, 'sync cycle starting');
    this.status.running = true;
    this.status.lastStartedAt = new Date().toISOString();
    const started = performance.now();
    // The cycle stops on shutdown and, with HA, as soon as this node's term ends.
    const signals = [this.ctx.signal, this.leadership?.signal].filter((s): s is AbortSignal => s !== undefined);
    const ctx = signals.length > 0 ? { ...this.ctx, signal: AbortSignal.any(signals) } : this.ctx;
    this.current = runSyncCycle(ctx, this.state);
    try {
      const summary = await this.current;
      this.status.lastOk = summary.ok;
      if (summary.ok) this.status.lastSuccessAt = summary.finishedAt;
      delete this.status.lastError;
      if (summary.warnings.length > 0) this.status.warnings = summary.warnings;
      else delete this.status.warnings;
      this.ctx.metrics?.stageSeconds('cycle', (performance.now() - started) / 1000);
      this.ctx.metrics?.cycleFinished(summary.ok, new Date(summary.finishedAt));
      if (summary.ok) {
        await recordSiteSuccess(this.ctx.db, this.ctx.config.siteId, this.ctx.config.ha.nodeId || hostname(), new Date(summary.finishedAt)).catch((e: unknown) => {
          this.log.warn({ code: errorCodeOf(e) }, 'could not record the successful cycle');
        });
      }
      await this.armRetry();
      return summary;
    } catch (err) {
      const lost = isProxyError(err, 'LEASE_LOST') ? err : isProxyError(ctx.signal?.reason, 'LEASE_LOST') ? ctx.signal.reason : undefined;
      const failure = lost ?? err;
      this.status.lastOk = false;
      this.status.lastError = { code: errorCodeOf(failure), message: (failure as Error).message };
      if (lost) {
        this.leadership?.stepDown(`a write was fenced off: ${lost.message}`);
        this.log.warn({ code: 'LEASE_LOST', err: lost.message }, 'cycle stopped: this node is no longer the leader');
        throw lost;
      }
      if (!this.ctx.signal?.aborted) this.log.error({ code: errorCodeOf(err), err: (err as Error).message }, 'sync cycle failed');
      this.scheduleRetry(this.ctx.config.schedule.retryBaseSeconds * 1000);
      throw err;
    } finally {
      this.current = undefined;
      this.status.running = false;
      this.status.lastFinishedAt = new Date().toISOString();
    }
  }

  /** Waits for the running cycle (if any) to end; used on shutdown. */
  async idle(): Promise<void> {
    await this.current?.catch(() => undefined);
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /**
   * Arms the timer for the earliest retry that something asked for: a job or a report whose `nextAttemptAt` is still
   * ahead. A time already past is no reason to run again: such a job or report was handled by the cycle that just
   * ended and waits for something else (an `imported` job for its report, an offline import for nothing, a report
   * for an earlier one of its archive that is in backoff); re-running at once would cycle every second for ever.
   * Only a job the cycle should have moved and did not (its retry could not be recorded) brings the next cycle
   * forward, after `schedule.retryBaseSeconds`.
   */
  private async armRetry(): Promise<void> {
    if (!this.options.retryTimer) return;
    const now = this.ctx.now();
    const waiting = RETRYABLE_STATES;
    const next = await this.ctx.jobs.col.find({ state: { $in: waiting }, nextAttemptAt: { $gt: now } }).sort({ nextAttemptAt: 1 }).limit(1).next();
    const outboxNext = await this.ctx.outbox.col.find({ deliveredAt: { $exists: false }, nextAttemptAt: { $gt: now } }).sort({ nextAttemptAt: 1 }).limit(1).next();
    const times = [next?.nextAttemptAt, outboxNext?.nextAttemptAt].filter((d): d is Date => d instanceof Date).map((d) => d.getTime());
    const stuck = await this.ctx.jobs.col.findOne({ state: { $in: waiting }, nextAttemptAt: { $lte: now } }, { projection: { _id: 1 } });
    if (stuck) times.push(now.getTime() + this.ctx.config.schedule.retryBaseSeconds * 1000);
    if (times.length === 0) return;
    this.scheduleRetry(Math.max(1000, Math.min(...times) - now.getTime()));
  }

  private scheduleRetry(delayMs: number): void {
    if (!this.options.retryTimer || this.ctx.signal?.aborted) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.trigger('retry').catch(() => undefined);
    }, Math.min(delayMs, 2 ** 31 - 1));
    this.retryTimer.unref();
  }
}
