import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { errorCodeOf } from '../errors.js';
import { FixitySweep, type SweepDoc } from './sweep.js';

const PERIOD_MS = { daily: 86_400_000, weekly: 7 * 86_400_000 } as const;

export interface SweepSchedulerOptions {
  schedule: keyof typeof PERIOD_MS;
  pauseMs: number;
  node: string;
  /** HA: true while this node holds the leader lease (always true on a single VM). */
  isLeader: () => boolean;
  log: Logger;
  /** How often to look whether a sweep is due (default 10 minutes; the first look 1 minute after start). */
  checkEveryMs?: number;
  firstCheckMs?: number;
}

/**
 * Runs the fixity sweep when it is due, on the HA leader only; an unfinished sweep (restart, leader change) is
 * resumed at its checkpoint by whichever node leads next. stop() ends a running sweep at its next batch.
 */
export class SweepScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepDoc | undefined> | undefined;
  private stopped = false;

  constructor(private readonly db: Db, private readonly opts: SweepSchedulerOptions) {}

  start(): void {
    this.arm(this.opts.firstCheckMs ?? 60_000);
  }

  /** Looks once: runs (or resumes) a sweep when this node leads and one is due. Returns the finished sweep. */
  async checkNow(): Promise<SweepDoc | undefined> {
    if (this.stopped || !this.opts.isLeader() || this.running) return undefined;
    const sweep = new FixitySweep(this.db, {
      node: this.opts.node, pauseMs: this.opts.pauseMs, log: this.opts.log,
      shouldStop: () => this.stopped || !this.opts.isLeader(),
    });
    if (!(await sweep.isDue(PERIOD_MS[this.opts.schedule]))) return undefined;
    this.running = sweep.run();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.checkNow()
        .catch((err: unknown) => this.opts.log.error({ component: 'integrity', code: errorCodeOf(err), err: (err as Error).message }, 'fixity sweep failed; it resumes at its checkpoint'))
        .finally(() => this.arm(this.opts.checkEveryMs ?? 600_000));
    }, ms);
    this.timer.unref();
  }
}
