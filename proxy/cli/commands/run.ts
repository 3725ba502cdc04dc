import { hostname } from 'node:os';
import { buildApp } from '../../app.js';
import { SweepScheduler } from '../../integrity/sweep-scheduler.js';
import { createServices } from '../../services.js';
import { loadConfigFor, loggerFor, type CommonFlags } from '../common.js';
import { EXIT, type ExitCode } from '../io.js';
import { assertPortalTransport, portalAppOptions } from '../portal-options.js';

/** `run`: the daemon. Scheduler + portal port; returns when `signal` aborts (SIGTERM), after a clean shutdown. */
export async function runCommand(flags: CommonFlags, signal: AbortSignal): Promise<ExitCode> {
  const config = await loadConfigFor(flags);
  // Before anything connects: no clear-text portal on the network by accident.
  assertPortalTransport(config);
  const log = loggerFor(config, flags, 'stdout');
  const services = await createServices(config, log, signal);
  const app = await buildApp({
    log,
    client: services.client,
    db: services.db,
    jobs: services.jobs,
    outbox: services.outbox,
    runner: services.runner,
    schedule: { hourUtc: config.schedule.hourUtc, pollIntervalMinutes: config.schedule.pollIntervalMinutes, runAtStart: true },
    ...(await portalAppOptions(config)),
    ...(services.lease ? { lease: services.lease } : {}),
    metrics: services.metrics,
    retention: services.retention,
    ...(config.retention.enabled ? { retentionCron: config.retention.schedule } : {}),
    replicaSet: services.replicaSet,
    disk: services.disk,
    siteId: config.siteId,
  });
  services.metrics.enableProcessMetrics();
  await app.listen({ host: config.portal.host, port: config.portal.port });
  const { integrity } = config;
  const sweeps = integrity.enabled && integrity.sweepSchedule !== 'off'
    ? new SweepScheduler(services.db, {
      schedule: integrity.sweepSchedule, pauseMs: integrity.sweepPauseMs, log,
      node: services.lease?.nodeId ?? (config.ha.nodeId || hostname()),
      isLeader: () => services.lease?.holder ?? true,
    })
    : undefined;
  sweeps?.start();
  log.info({ component: 'main', siteId: config.siteId, ha: config.ha.enabled, nodeId: services.lease?.nodeId, portal: app.addresses(), https: config.portal.tls.certFile !== undefined }, 'retention proxy running');
  // A SIGTERM that came while starting (the signal already aborted) stops it at once: a listener added now would never fire.
  if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  log.info({ component: 'main' }, 'shutting down');
  await sweeps?.stop();
  await app.close();
  await services.close();
  log.flush();
  return EXIT.OK;
}
