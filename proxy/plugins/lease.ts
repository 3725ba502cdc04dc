import type { FastifyInstance } from 'fastify';
import type { Lease } from '../ha/lease.js';
import type { SyncRunner } from '../pipeline/sync-runner.js';

export interface LeasePluginOptions { lease: Lease; runner: SyncRunner }

/**
 * HA: runs the leader lease loop while the server runs (both nodes serve the portal; only the leader pulls). Winning
 * the lease starts a cycle at once: the previous leader may have died mid-work. On close: stop the cycle, release the
 * lease so the other node takes over without waiting for the TTL.
 */
export async function leasePlugin(app: FastifyInstance, opts: LeasePluginOptions): Promise<void> {
  opts.lease.onAcquired(() => {
    // A cycle of an earlier term may still be unwinding (it was aborted): start the new one after it.
    opts.runner.idle().then(() => opts.runner.trigger('became leader')).catch(() => undefined);
  });
  app.addHook('onReady', async () => {
    opts.lease.start();
    await Promise.resolve();
  });
  app.addHook('onClose', async () => {
    opts.runner.stop();
    await opts.runner.idle();
    await opts.lease.stop();
  });
  await Promise.resolve();
}
