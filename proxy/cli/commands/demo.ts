import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildApp } from '../../app.js';
import { configFromObject } from '../../config/load-config.js';
import { findOrStartLocalDatabase } from '../../devdb/local-database.js';
import { createLogger } from '../../log/logger.js';
import { createServices } from '../../services.js';
import { startVendorSim } from '../../vendor-sim/index.js';
import { EXIT, type CliIo, type ExitCode } from '../io.js';
import { portalAppOptions } from '../portal-options.js';
import { generateEd25519KeyPair } from '../../vendor-sim/sftp/host-key.js';
import { refuseRootInbox, startLoopbackInbox } from '../../devsshd/loopback-inbox.js';

const HELP = `retention-proxy demo [--dir DIR] [--portal-port N] [--days N] [--records N] [--publish-every-minutes N]
                     [--layout vendor|inbox]

Starts, all on 127.0.0.1: the vendor simulator (SFTP + status API + Backup Log), a local MongoDB-compatible
database (MONGODB_URI, else Docker mongo:4.2, else FerretDB), and the proxy with the Retention Portal port.
Publishes --days past days at once and a new day every --publish-every-minutes. Ctrl-C stops everything.

--layout vendor (default): the proxy pulls from the vendor's SFTP server (the simulator's).
--layout inbox: the customer runs the SFTP server. The demo starts OpenSSH's sshd (/usr/sbin/sshd, package
  openssh-server; run it as an ordinary user, not root) on a loopback port as the upload inbox; the simulator pushes each day into it with
  the vendor's key (.uploading, rename, .sha256); the proxy collects from it and removes each archive after
  "Data Downloaded" was delivered (sftp.deleteAfterDownloaded).`;

/** `demo`: the embedded default, everything on loopback; prints where to look. */
export async function demoCommand(argv: string[], io: CliIo, signal: AbortSignal): Promise<ExitCode> {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      dir: { type: 'string' }, 'portal-port': { type: 'string' }, days: { type: 'string' }, records: { type: 'string' },
      'publish-every-minutes': { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      layout: { type: 'string' },
    },
  });
  if (v.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  const layout = v.layout ?? 'vendor';
  if (layout !== 'vendor' && layout !== 'inbox') {
    io.err(`--layout must be vendor or inbox\n\n${HELP}`);
    return EXIT.USAGE;
  }
  if (layout === 'inbox') refuseRootInbox();
  const dir = resolve(v.dir ?? '.demo');
  const portalPort = Number.parseInt(v['portal-port'] ?? '8080', 10);
  const days = Number.parseInt(v.days ?? '3', 10);
  const records = Number.parseInt(v.records ?? '2000', 10);
  const everyMinutes = Number(v['publish-every-minutes'] ?? '2');
  await mkdir(dir, { recursive: true });
  const log = createLogger({ level: v['log-level'] ?? 'info', destination: pino.destination({ fd: 1, sync: false }) });

  // Everything started is stopped again, newest first, however far the start got.
  const stop: (() => Promise<void>)[] = [];
  try {
    const database = await findOrStartLocalDatabase({ dataDir: join(dir, 'db'), log: log.child({ component: 'devdb' }) });
    stop.unshift(() => database.stop());
    const keys = generateEd25519KeyPair();
    const archiveKey = 'Demo-Archive-Key-1';
    const signingSecret = randomBytes(24).toString('base64url');
    // Meets the Archive Key rules (upper, lower, digit) whatever the random part holds.
    const adminPassword = `Demo-${randomBytes(12).toString('base64url')}-7a`;
    await mkdir(join(dir, 'vendor-sftp'), { recursive: true });
    // Inbox layout: the customer's own SFTP server, which the vendor pushes into and the proxy collects from.
    const inbox = layout === 'inbox' ? await startLoopbackInbox(join(dir, 'inbox'), log.child({ component: 'demo-inbox' })) : undefined;
    if (inbox) stop.unshift(() => inbox.stop());
    const sim = await startVendorSim({
      dataDir: join(dir, 'vendor-sftp'), serviceId: 'svc1001', archiveKey, encryption: 'aes-256', signingSecret,
      sftp: { port: 0, username: 'vendor', authorizedPublicKey: keys.public }, http: { port: 0 },
      ...(inbox && { push: { host: inbox.host, port: inbox.port, username: inbox.username, privateKey: inbox.vendorKey, hostKeyFingerprint: inbox.hostKeyFingerprint, remoteDir: '.' } }),
      log: log.child({ component: 'vendor-sim' }),
    });
    stop.unshift(() => sim.close());
    const now = Date.now();
    for (let d = days; d >= 1; d--) await sim.publishDay({ date: new Date(Math.floor((now - d * 86_400_000) / 1000) * 1000), records });
    await writeFile(join(dir, 'client_ed25519'), keys.private, { mode: 0o600 });

    const config = configFromObject({
      siteId: 'demo-site',
      sftp: inbox
        ? { host: inbox.host, port: inbox.port, username: inbox.username, privateKey: inbox.proxyKey, hostKeyFingerprint: inbox.hostKeyFingerprint, remoteDir: '.', settleSeconds: 1, deleteAfterDownloaded: true }
        : { host: '127.0.0.1', port: sim.sftpPort, username: 'vendor', privateKey: keys.private, hostKeyFingerprint: sim.hostKeyFingerprint, settleSeconds: 1 },
      archive: { key: archiveKey },
      mongodb: { uri: database.uri, database: 'retention' },
      vendor: { statusUrl: sim.statusUrl, signingSecret },
      staging: { dir: join(dir, 'staging'), minFreeBytes: 0, keepArchiveDays: 1 },
      schedule: { hourUtc: new Date().getUTCHours(), pollIntervalMinutes: 0.5, retryBaseSeconds: 5, retryMaxSeconds: 60 },
      portal: { host: '127.0.0.1', port: portalPort, adminPassword },
      log: { level: v['log-level'] ?? 'info' },
    });
    const services = await createServices(config, log, signal);
    stop.unshift(() => services.close());
    const app = await buildApp({
      log, client: services.client, db: services.db, jobs: services.jobs, outbox: services.outbox, runner: services.runner,
      schedule: { hourUtc: config.schedule.hourUtc, pollIntervalMinutes: config.schedule.pollIntervalMinutes, runAtStart: true },
      ...(await portalAppOptions(config)),
      metrics: services.metrics, replicaSet: services.replicaSet, siteId: config.siteId,
    });
    stop.unshift(() => app.close());
    await app.listen({ host: config.portal.host, port: config.portal.port });
    const publisher = setInterval(() => {
      sim.publishDay({ records }).catch((err: unknown) => log.warn({ err }, 'demo: publishing a day failed'));
    }, everyMinutes * 60_000);
    stop.unshift(() => {
      clearInterval(publisher);
      return Promise.resolve();
    });

    io.err([
      '',
      'Retention Proxy demo is running (Ctrl-C to stop):',
      `  Retention Portal      http://127.0.0.1:${portalPort}/   user admin, password ${adminPassword}`,
      `  Portal API            http://127.0.0.1:${portalPort}/api/v1/openapi.json   (health: /readyz, metrics: /metrics)`,
      `  Vendor Backup Log     http://127.0.0.1:${sim.httpPort}/backup-log`,
      inbox
        ? `  Inbox (customer SFTP) sftp -P ${inbox.port} -i ${join(dir, 'inbox', 'proxy_ed25519')} ${inbox.username}@127.0.0.1   (serves ${inbox.root}; host key ${inbox.hostKeyFingerprint}; the vendor pushes into it)`
        : `  Vendor SFTP           sftp -P ${sim.sftpPort} -i ${join(dir, 'client_ed25519')} vendor@127.0.0.1   (host key ${sim.hostKeyFingerprint})`,
      `  MongoDB               ${database.uri}  database "retention"  (${database.description})`,
      `  Archive Key           ${archiveKey}`,
      `  Staging               ${join(dir, 'staging')}`,
      `A new day is published every ${everyMinutes} min; the proxy polls every 30 s.`,
      '',
    ].join('\n'));
    if (!signal.aborted) await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    return EXIT.OK;
  } finally {
    for (const s of stop) await s().catch(() => undefined);
    log.flush();
  }
}
