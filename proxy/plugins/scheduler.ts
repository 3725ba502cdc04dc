import type { FastifyInstance } from 'fastify';
import { schedule, type ScheduledTask } from 'node-cron';
import type { SyncRunner } from '../pipeline/sync-runner.js';

export interface SchedulerOptions {
  runner: SyncRunner;
  hourUtc: number;
  pollIntervalMinutes: number;
  /** Run one cycle right after start (catches up after downtime). */
  runAtStart: boolean;
}

/**
 * node-cron at the configured UTC hour, plus an optional poll interval. Starts when the server is ready,
 * stops on close and waits for a running cycle to end.
 */
export async function schedulerPlugin(app: FastifyInstance, opts: SchedulerOptions): Promise<void> {
  const log = app.log.child({ component: 'scheduler' });
  let daily: ScheduledTask | undefined;
  let poll: NodeJS.Timeout | undefined;
  const fire = (reason: string): void => {
    opts.runner.trigger(reason).catch(() => undefined);
  };

  app.addHook('onReady', async () => {
    daily = schedule(`0 0 ${opts.hourUtc} * * *`, () => fire('daily schedule'), { timezone: 'Etc/UTC', name: 'daily-sync', noOverlap: true });
    if (opts.pollIntervalMinutes > 0) {
      poll = setInterval(() => fire('poll interval'), opts.pollIntervalMinutes * 60_000);
      poll.unref();
    }
    log.info({ hourUtc: opts.hourUtc, pollIntervalMinutes: opts.pollIntervalMinutes }, 'scheduler started');
    if (opts.runAtStart) setImmediate(() => fire('start'));
    await Promise.resolve();
  });

  app.addHook('onClose', async () => {
    await daily?.stop();
    if (poll) clearInterval(poll);
    opts.runner.stop();
    await opts.runner.idle();
    log.info('scheduler stopped');
  });
  await Promise.resolve();
}
