import type { FastifyInstance } from 'fastify';
import { schedule, validate, type ScheduledTask } from 'node-cron';
import { ProxyError, isProxyError } from '../errors.js';
import type { Lease } from '../ha/lease.js';
import type { RetentionService } from '../retention/service.js';

export interface RetentionSchedulerOptions {
  retention: RetentionService;
  /** Cron expression, UTC (config `retention.schedule`). */
  cron: string;
  /** HA: only the lease holder runs; undefined on a single VM. */
  lease?: Lease;
}

/**
 * The nightly retention run (docs/retention.md): only on the HA leader (a follower skips the tick), never two at
 * once. On start, and whenever this node becomes the leader, runs a crash left 'planning'/'running' are marked
 * 'interrupted' (the next run settles their last batch and redoes what is left).
 */
export async function retentionSchedulerPlugin(app: FastifyInstance, opts: RetentionSchedulerOptions): Promise<void> {
  const log = app.log.child({ component: 'retention-scheduler' });
  if (!validate(opts.cron)) throw new ProxyError('CONFIG_INVALID', `retention.schedule: "${opts.cron}" is not a cron expression`);
  let task: ScheduledTask | undefined;
  const recover = (): void => {
    opts.retention.markInterrupted().catch((err: unknown) => log.warn({ err }, 'could not mark interrupted retention runs'));
  };
  const fire = (): void => {
    if (opts.lease && !opts.lease.holder) return;
    opts.retention.run({ trigger: 'schedule', requestedBy: 'scheduler' }).catch((err: unknown) => {
      if (isProxyError(err, 'RUN_IN_PROGRESS') || isProxyError(err, 'NOT_LEADER')) log.info({ code: err.code }, 'nightly retention run skipped');
      else log.error({ err }, 'nightly retention run failed');
    });
  };
  opts.lease?.onAcquired(recover);
  app.addHook('onReady', async () => {
    if (!opts.lease) recover();
    task = schedule(opts.cron, fire, { timezone: 'Etc/UTC', name: 'retention', noOverlap: true });
    log.info({ cron: opts.cron }, 'retention scheduler started');
    await Promise.resolve();
  });
  app.addHook('onClose', async () => {
    await task?.stop();
    opts.retention.stop();
    await opts.retention.idle();
  });
  await Promise.resolve();
}
