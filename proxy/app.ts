import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Db, MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import { ERRORS, ProxyError } from './errors.js';
import type { JobStore } from './db/jobs.js';
import type { Outbox } from './db/outbox.js';
import type { SyncRunner } from './pipeline/sync-runner.js';
import type { Lease } from './ha/lease.js';
import type { ReplicaSetHealth } from './ha/replica-set-health.js';
import type { ProxyMetrics } from './metrics/metrics.js';
import { leasePlugin } from './plugins/lease.js';
import { mongoPlugin } from './plugins/mongo.js';
import { schedulerPlugin, type SchedulerOptions } from './plugins/scheduler.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { syncStatusRoutes } from './routes/sync-status.js';

export interface AppDeps {
  log: Logger;
  client: MongoClient;
  db: Db;
  jobs: JobStore;
  outbox: Outbox;
  runner: SyncRunner;
  /** Omit to serve without the scheduler (tests, `sync --once`). */
  schedule?: Omit<SchedulerOptions, 'runner'>;
  /** Built portal (portal-ui/dist); a placeholder page is served when it is missing. */
  portalDir?: string;
  /** HA: the leader lease; its loop runs while the server runs (with `schedule`). */
  lease?: Lease;
  /** Served at /metrics when given. */
  metrics?: ProxyMetrics;
  replicaSet?: () => Promise<ReplicaSetHealth>;
  /** Lets /readyz show the site's last successful cycle, whichever node ran it. */
  siteId?: string;
}

/** The fastify instance, not listening yet: only the entry point listens and handles signals. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.log.child({ component: 'http' });
  const app = Fastify({ loggerInstance: logger, trustProxy: false });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof ProxyError) return reply.code(err.status).send(err.toJSON());
    const e = err as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation) return reply.code(ERRORS.VALIDATION.status).send({ code: 'VALIDATION', message: e.message });
    req.log.error({ err }, 'request failed');
    return reply.code(e.statusCode && e.statusCode < 500 ? e.statusCode : 500).send({ code: 'INTERNAL', message: ERRORS.INTERNAL.message });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ code: 'NOT_FOUND', message: ERRORS.NOT_FOUND.message }));

  await app.register(mongoPlugin, { client: deps.client, db: deps.db });
  if (deps.schedule) await app.register(schedulerPlugin, { ...deps.schedule, runner: deps.runner });
  if (deps.schedule && deps.lease) await app.register(leasePlugin, { lease: deps.lease, runner: deps.runner });
  const lease = deps.lease;
  await app.register(healthRoutes, {
    db: deps.db, outbox: deps.outbox, runnerStatus: () => ({ ...deps.runner.status }),
    nodeId: lease?.nodeId ?? hostname(),
    ...(deps.siteId ? { siteId: deps.siteId } : {}),
    ...(lease ? { lease: () => lease.status() } : {}),
    ...(deps.replicaSet ? { replicaSet: deps.replicaSet } : {}),
  });
  if (deps.metrics) await app.register(metricsRoutes, { metrics: deps.metrics });
  await app.register(syncStatusRoutes, { jobs: deps.jobs });

  const portalDir = deps.portalDir;
  if (portalDir && existsSync(join(portalDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: portalDir, prefix: '/', wildcard: false });
  } else {
    app.get('/', (_req, reply) =>
      reply.type('text/html').send('<!doctype html><title>Retention Portal</title><h1>Retention Portal</h1><p>The proxy is running. Sync status: <a href="/api/v1/sync/jobs">/api/v1/sync/jobs</a>, health: <a href="/readyz">/readyz</a>.</p>'),
    );
  }
  return app;
}
