import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ProxyError } from '../errors.js';
import type { PushTarget, VendorSimCliArgs } from './types.js';
import { startVendorSim } from './vendor-sim.js';

const DAY_MS = 86_400_000;

/**
 * `retention-proxy vendor-sim`: publishes `days` past days (oldest first, one backup per day at 02:00 UTC),
 * serves SFTP and HTTP until `signal` aborts, and logs where to look.
 */
export async function runVendorSimCli(args: VendorSimCliArgs, log: Logger, signal: AbortSignal): Promise<void> {
  let authorizedPublicKey: string;
  try {
    authorizedPublicKey = (await readFile(args.authorizedKeyFile, 'utf8')).trim();
  } catch (err) {
    throw new ProxyError('SECRET_FILE_UNREADABLE', args.authorizedKeyFile, { cause: err });
  }
  let push: PushTarget | undefined;
  if (args.push) {
    const { privateKeyFile, ...rest } = args.push;
    try {
      push = { ...rest, privateKey: await readFile(privateKeyFile, 'utf8') };
    } catch (err) {
      throw new ProxyError('SECRET_FILE_UNREADABLE', privateKeyFile, { cause: err });
    }
  }
  const sim = await startVendorSim({
    dataDir: args.dataDir, serviceId: args.serviceId, archiveKey: args.archiveKey, encryption: args.encryption,
    signingSecret: args.signingSecret,
    sftp: { port: args.sftpPort, username: 'vendor', authorizedPublicKey },
    http: { port: args.httpPort },
    faults: args.faults,
    ...(args.autoDelete !== undefined && { autoDelete: args.autoDelete }),
    ...(args.backupSites !== undefined && { backupSites: args.backupSites }),
    ...(push && { push }),
    log,
  });
  try {
    const today = new Date();
    const base = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), 2, 0, 0);
    for (let d = args.days; d >= 1 && !signal.aborted; d--) {
      const r = await sim.publishDay({ date: new Date(base - (d - 1) * DAY_MS), records: args.records, mediaBytes: args.mediaBytes });
      log.info({ fileName: r.fileName, bytes: r.bytes, files: r.fileCount, ...(push && { pushedTo: `${push.host}:${push.port} ${push.remoteDir}` }) }, 'published');
    }
    const httpBase = sim.statusUrl.replace(/\/retention\/v1\/status$/, '');
    log.info(
      { sftp: `sftp -P ${sim.sftpPort} vendor@127.0.0.1`, hostKeyFingerprint: sim.hostKeyFingerprint, statusUrl: sim.statusUrl, backupLog: `${httpBase}/backup-log` },
      'vendor simulator ready; Ctrl-C to stop',
    );
    if (!signal.aborted) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    }
  } finally {
    await sim.close();
  }
}
