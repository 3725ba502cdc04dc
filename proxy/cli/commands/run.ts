import { buildApp } from '../../app.js';
import { createServices } from '../../services.js';
import { loadConfigFor, loggerFor, type CommonFlags } from '../common.js';
import { EXIT, type ExitCode } from '../io.js';
import { portalAppOptions } from '../portal-options.js';

/** `run`: the daemon. Scheduler + portal port; returns when `signal` aborts (SIGTERM), after a clean shutdown. */
export async function runCommand(flags: CommonFlags, signal: AbortSignal): Promise<ExitCode> {
  const config = await loadConfigFor(flags);
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
    siteId: config.siteId,
  });
  services.metrics.enableProcessMetrics();
  await app.listen({ host: config.portal.host, port: config.portal.port });
  log.info({ component: 'main', siteId: config.siteId, ha: config.ha.enabled, nodeId: services.lease?.nodeId, portal: app.addresses(), https: config.portal.tls.certFile !== undefined }, 'retention proxy running');
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  log.info({ component: 'main' }, 'shutting down');
  await app.close();
  await services.close();
  log.flush();
  return EXIT.OK;
}
