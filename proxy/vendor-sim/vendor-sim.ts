import { randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseArchiveName } from '../archive/archive-name.js';
import { BackupLog } from './backup-log.js';
import { publishDayArchive } from './generate/publish-archive.js';
import { RetainedData } from './retained-data.js';
import { buildStatusServer, STATUS_PATH } from './http/status-server.js';
import { FaultState } from './sftp/faults.js';
import { generateHostKey } from './sftp/host-key.js';
import { startSftpServer } from './sftp/sftp-server.js';
import { pushArchive } from './push/sftp-push.js';
import type { PublishDayOptions, PublishDayResult, VendorSim, VendorSimOptions } from './types.js';

/** How long a "still uploading" archive takes to appear in full. */
const SLOW_PUBLISH_MS = 4000;

/** Archives already in `dataDir` (e.g. after a simulator restart) enter the Backup Log as uploaded. */
async function registerExisting(log: BackupLog, dataDir: string, serviceId: string): Promise<void> {
  for (const name of await readdir(dataDir)) {
    const parsed = parseArchiveName(name);
    if (!parsed || parsed.serviceId !== serviceId) continue;
    const s = await stat(join(dataDir, name));
    log.addArchive({ fileName: name, jobId: parsed.jobId, createdAt: parsed.createdAt, totalBytes: s.size, fileCount: 0 }, 'uploaded', s.mtime);
  }
}

/** Starts the vendor simulator: SFTP (read-only, faults on demand) and the status/Backup Log HTTP endpoint. */
export async function startVendorSim(options: VendorSimOptions): Promise<VendorSim> {
  const log = options.log.child({ component: 'vendor-sim' });
  const faults = new FaultState(options.faults);
  const backupLog = new BackupLog();
  await registerExisting(backupLog, options.dataDir, options.serviceId);
  const pending = new Set<Promise<void>>();
  const retained = new RetainedData({
    dataDir: options.dataDir, backupLog, faults, log, autoDelete: options.autoDelete ?? false, backupSites: options.backupSites,
  });

  const sftp = await startSftpServer({
    root: options.dataDir,
    host: options.sftp.host ?? '127.0.0.1',
    port: options.sftp.port,
    username: options.sftp.username,
    authorizedPublicKey: options.sftp.authorizedPublicKey,
    hostKey: options.sftp.hostKey ?? generateHostKey(),
    faults,
    log,
  });
  const httpHost = options.http.host ?? '127.0.0.1';
  const app = buildStatusServer({
    serviceId: options.serviceId, signingSecret: options.signingSecret, backupLog, log, retained,
    ...(options.onReport && { onReport: options.onReport }),
  });
  try {
    await app.listen({ port: options.http.port, host: httpHost });
  } catch (err) {
    await sftp.close();
    throw err;
  }
  const httpPort = (app.server.address() as AddressInfo).port;
  const urlHost = httpHost.includes(':') ? `[${httpHost}]` : httpHost;
  log.info({ sftpPort: sftp.port, httpPort, hostKeyFingerprint: sftp.hostKeyFingerprint }, 'vendor simulator started');

  let closed = false;
  return {
    sftpPort: sftp.port,
    httpPort,
    hostKeyFingerprint: sftp.hostKeyFingerprint,
    statusUrl: `http://${urlHost}:${httpPort}${STATUS_PATH}`,

    async publishDay(opts: PublishDayOptions = {}): Promise<PublishDayResult> {
      const createdAt = new Date(Math.floor((opts.date ?? new Date()).getTime() / 1000) * 1000);
      const slow = faults.takeStillUploading();
      const published = await publishDayArchive({
        dataDir: options.dataDir, serviceId: options.serviceId, jobId: randomUUID(), createdAt,
        seed: options.seed ?? options.serviceId, archiveKey: options.archiveKey, encryption: options.encryption,
        sidecar: options.sidecar ?? true,
        ...(opts.records !== undefined && { records: opts.records }),
        ...(opts.mediaBytes !== undefined && { mediaBytes: opts.mediaBytes }),
        ...(opts.layout !== undefined && { layout: opts.layout }),
        ...(opts.manifest !== undefined && { manifest: opts.manifest }),
        ...(slow && { slowPublishMs: SLOW_PUBLISH_MS }),
        log,
      });
      // Push mode: the customer runs the SFTP server; the archive is uploaded into it as the vendor does.
      if (options.push) {
        await published.completed;
        await pushArchive(options.push, published.path, published.fileName, published.sha256, log);
      }
      const info = { fileName: published.fileName, jobId: published.jobId, createdAt, totalBytes: published.bytes, fileCount: published.fileCount };
      backupLog.addArchive(info, slow ? 'uploading' : 'uploaded');
      if (slow) {
        const done = published.completed
          .then(() => backupLog.markUploaded(published.fileName))
          .catch((err: unknown) => log.error({ err, fileName: published.fileName }, 'slow publish failed'))
          .finally(() => pending.delete(done));
        pending.add(done);
      }
      return {
        fileName: published.fileName, bytes: published.bytes, sha256: published.sha256,
        recordCounts: published.recordCounts, fileCount: published.fileCount,
      };
    },
    backupLog: () => backupLog.rows(),
    reports: () => backupLog.reports(),
    setFaults: (f) => faults.set(f),
    setAutoDelete: (on) => {
      retained.autoDelete = on;
    },
    deleteArchive: (fileName) => retained.delete(fileName),
    settled: () => retained.settled(),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...pending, retained.settled()]);
      await Promise.allSettled([sftp.close(), app.close()]);
      log.info('vendor simulator stopped');
    },
  };
}
