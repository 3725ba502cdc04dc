import { hostname } from 'node:os';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Db, MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import { ERRORS } from './errors.js';
import { errorReply } from './http-error.js';
import type { JobStore } from './db/jobs.js';
import type { Outbox } from './db/outbox.js';
import type { SyncRunner } from './pipeline/sync-runner.js';
import type { Lease } from './ha/lease.js';
import type { ReplicaSetHealth } from './ha/replica-set-health.js';
import type { ProxyMetrics } from './metrics/metrics.js';
import type { DiskStatus } from './pipeline/disk-status.js';
import { leasePlugin } from './plugins/lease.js';
import { mongoPlugin } from './plugins/mongo.js';
import { retentionSchedulerPlugin } from './plugins/retention-scheduler.js';
import { schedulerPlugin, type SchedulerOptions } from './plugins/scheduler.js';
import { PortalContext, type PortalSettings } from './portal/context.js';
import type { IndexBuilder } from './portal/index-build.js';
import { majority } from './db/write-concern.js';
import { trustProxyOption } from './portal/http/listen-policy.js';
import { installSecurityHeaders } from './portal/http/security-headers.js';
import { installPortalInfrastructure, portalRoutes } from './portal/register.js';
import { auditSystemChange } from './portal/system-audit.js';
import { uiRoutes } from './portal/routes/ui.js';
import { RetentionService, type RetentionDeps } from './retention/index.js';
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
  /** The staging disk for /readyz (`disk`). */
  disk?: () => Promise<DiskStatus>;
  /** Lets /readyz show the site's last successful cycle, whichever node ran it. */
  siteId?: string;
  /** Session and lockout policy (config `portal.*`); defaults otherwise. */
  portal?: PortalSettings;
  /** PEM certificate and key: the portal speaks HTTPS and cookies are Secure. */
  tls?: { cert: string; key: string };
  /** `portal.trustProxy`: comma-separated addresses/CIDRs of trusted reverse proxies; none when absent. */
  trustProxy?: string;
  /** `portal.adminPassword`: creates or updates the user `admin` when the app becomes ready. */
  adminPassword?: string;
  /** Clock for sessions, lockout and audit (tests). */
  now?: () => Date;
  /**
   * Retention governance (services.retention) for the portal's retention routes and the nightly run. Omitted (tests):
   * the app builds its own over `db` with the default batch settings, fenced by `lease` when given.
   */
  retention?: RetentionService;
  /** The nightly retention run (config `retention.schedule`, only with `schedule` and `retention.enabled`). */
  retentionCron?: string;
  /** Builds one record index in the background (tests: a slow or blocked build); default ensureIndexes. */
  indexBuilder?: IndexBuilder;
  /** fastify's pluginTimeout, which also bounds each onReady hook (default fastify's 10 s; tests make it short). */
  pluginTimeoutMs?: number;
}

/** The fastify instance, not listening yet: only the entry point listens and handles signals. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.log.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: logger,
    // Only the configured reverse proxies' X-Forwarded-* are believed (req.ip for lockout and audit).
    trustProxy: trustProxyOption(deps.trustProxy),
    // Unknown query/body keys are a 400, not silently dropped; values keep their JSON types.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array' } },
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key, minVersion: 'TLSv1.2' as const } } : {}),
    ...(deps.pluginTimeoutMs !== undefined ? { pluginTimeout: deps.pluginTimeoutMs } : {}),
  }) as unknown as FastifyInstance;

  app.setErrorHandler((err, req, reply) => {
    const out = errorReply(err);
    if (out.log === 'warn') req.log.warn({ err }, 'request refused for now');
    else if (out.log === 'error') req.log.error({ err }, 'request failed');
    if (out.headers) void reply.headers(out.headers);
    return reply.code(out.status).send(out.body);
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ code: 'NOT_FOUND', message: ERRORS.NOT_FOUND.message }));

  // First hook of all: every response, refused and 404 ones included, carries nosniff and the CSP.
  installSecurityHeaders(app, { tls: deps.tls !== undefined });
  const retention = deps.retention ?? ownRetention(app, {
    db: deps.db,
    log: deps.log.child({ component: 'retention' }),
    writeConcernTimeoutMs: 10_000,
    nodeId: deps.lease?.nodeId ?? hostname(),
    ...(deps.lease ? { lease: deps.lease } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
  const ctx = new PortalContext(deps.db, deps.log.child({ component: 'portal' }), deps.portal, deps.now, retention);
  await installPortalInfrastructure(app, ctx);
  app.addHook('onClose', async () => {
    ctx.recordIndexes.stop();
    ctx.roomStatsBackfill.stop();
    await ctx.recordIndexes.settled();
    await ctx.roomStatsBackfill.settled();
  });
  app.addHook('onReady', async () => {
    await ctx.ensureIndexes(deps.indexBuilder);
    // The daemon (with the scheduler) fills room statistics a database from before them lacks, in the background.
    if (deps.schedule) {
      const lease = deps.lease;
      ctx.roomStatsBackfill.start({ db: deps.db, writeConcern: majority(15_000), log: ctx.log, isLeader: () => lease?.holder ?? true, after: ctx.recordIndexes.settled(), recordWrites: retention.recordWrites });
    }
    if (deps.adminPassword !== undefined) {
      const outcome = await ctx.users.ensureAdmin(deps.adminPassword);
      if (outcome !== 'unchanged') {
        ctx.log.info({ outcome }, 'portal user admin set from portal.adminPassword');
        await auditSystemChange(ctx.audit, 'system', { action: outcome === 'created' ? 'user.create' : 'user.update', target: 'users/admin', details: { source: 'portal.adminPassword', result: outcome } });
        // A password set from outside ends the account's sessions, as any other password change does.
        if (outcome === 'updated') await ctx.sessions.destroyAllOf('admin');
      }
    }
  });
  await app.register(mongoPlugin, { client: deps.client, db: deps.db });
  if (deps.schedule) await app.register(schedulerPlugin, { ...deps.schedule, runner: deps.runner });
  if (deps.schedule && deps.lease) await app.register(leasePlugin, { lease: deps.lease, runner: deps.runner });
  if (deps.schedule && deps.retentionCron !== undefined) {
    await app.register(retentionSchedulerPlugin, { retention: ctx.retention, cron: deps.retentionCron, ...(deps.lease ? { lease: deps.lease } : {}) });
  }
  const lease = deps.lease;
  const runnerStatus = () => ({ ...deps.runner.status });
  await app.register(healthRoutes, {
    db: deps.db, outbox: deps.outbox, runnerStatus,
    nodeId: lease?.nodeId ?? hostname(),
    ...(deps.siteId ? { siteId: deps.siteId } : {}),
    ...(lease ? { lease: () => lease.status() } : {}),
    ...(deps.replicaSet ? { replicaSet: deps.replicaSet } : {}),
    ...(deps.disk ? { disk: deps.disk } : {}),
    indexes: () => ctx.recordIndexes.status(),
  });
  if (deps.metrics) await app.register(metricsRoutes, { metrics: deps.metrics });
  await app.register(syncStatusRoutes, {
    jobs: deps.jobs, db: deps.db, outbox: deps.outbox, runnerStatus,
    indexes: () => ctx.recordIndexes.status(),
    ...(deps.portal?.queries ? { queryTimeoutMs: deps.portal.queries.queryMs } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
  await app.register(portalRoutes, { ctx, secureCookies: deps.tls !== undefined });
  await app.register(uiRoutes, { dir: deps.portalDir });
  return app;
}

/** A retention service the app owns: a run still under way is stopped and awaited when the app closes. */
function ownRetention(app: FastifyInstance, deps: RetentionDeps): RetentionService {
  const retention = new RetentionService(deps);
  app.addHook('onClose', async () => {
    retention.stop();
    await retention.idle();
  });
  return retention;
}
