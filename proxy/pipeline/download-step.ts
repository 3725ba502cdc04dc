import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ProxyError } from '../errors.js';
import type { JobDoc } from '../db/jobs.js';
import type { SftpSession } from '../sftp/connect.js';
import { watchReserve } from '../util/free-space.js';
import type { PipelineContext } from './context.js';
import { JobProgress } from './progress.js';

export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), hash, signal ? { signal } : {});
  return hash.digest('hex');
}

/**
 * `<hex>  <name>` (sha256sum format; `*<name>` in binary mode) or a bare hex digest. When the sidecar names a file,
 * it must be `fileName`: a sidecar published for another archive (an archive renamed to another job's name keeps
 * its old sidecar line) is DOWNLOAD_CHECKSUM_MISMATCH, like the manifest's identity check (MANIFEST_MISMATCH).
 */
export function parseChecksumFile(text: string, fileName?: string): string | undefined {
  const m = /^\s*([0-9a-fA-F]{64})(?:[ \t]+\*?([^\r\n]+))?/.exec(text);
  const named = m?.[2]?.trim();
  if (m && named && fileName !== undefined && posix.basename(named) !== fileName) {
    throw new ProxyError('DOWNLOAD_CHECKSUM_MISMATCH', `${fileName}.sha256 names ${named}`, { details: { fileName, sidecarName: named } });
  }
  return m?.[1]?.toLowerCase();
}

/**
 * Downloads (or resumes) one archive into staging. Returns the facts to store with state "downloaded".
 * A file already renamed into place (a crash after rename, before the state change) is verified, not fetched again.
 */
export async function downloadArchive(
  ctx: PipelineContext,
  job: JobDoc,
  session: () => Promise<SftpSession>,
): Promise<{ bytes: number; sha256: string; publishedSha256?: string }> {
  const { staging, config } = ctx;
  const log = ctx.log.child({ component: 'download', jobId: job.jobId, fileName: job.fileName });
  const finalPath = staging.downloadedPath(job.fileName);
  const remotePath = posix.join(config.sftp.remoteDir, job.fileName);
  const sftp = await session();

  const sidecar = await sftp.readSmallFile(`${remotePath}.sha256`, 4096);
  const publishedSha256 = sidecar ? parseChecksumFile(sidecar.toString('utf8'), job.fileName) : undefined;

  const existing = await stat(finalPath).catch(() => undefined);
  if (existing?.size === job.remoteSize) {
    const sha256 = await sha256File(finalPath, ctx.signal);
    if (!publishedSha256 || publishedSha256 === sha256) {
      log.info({ bytes: existing.size }, 'archive already downloaded; verified');
      return publishedSha256 ? { bytes: existing.size, sha256, publishedSha256 } : { bytes: existing.size, sha256 };
    }
    await rm(finalPath, { force: true });
  }

  const remote = await sftp.stat(remotePath);
  if (!remote) throw new ProxyError('SFTP_TRANSFER_FAILED', `${remotePath} is no longer on the server`);
  if (remote.size !== job.remoteSize) {
    throw new ProxyError('REMOTE_FILE_CHANGED', `${job.fileName}: size ${job.remoteSize} → ${remote.size}`, {
      details: { expectedSize: job.remoteSize, remoteSize: remote.size, remoteMtimeMs: remote.mtimeMs },
    });
  }
  await staging.requireFree(Math.max(0, job.remoteSize - job.highWaterMark) + job.remoteSize, config.staging.minFreeBytes);

  log.info({ bytes: job.remoteSize, resumeFrom: job.highWaterMark }, job.highWaterMark > 0 ? 'resuming download' : 'downloading');
  const started = Date.now();
  // The reserve holds while the bytes arrive too: another process may fill the disk after the check above.
  const reserveBreached = new AbortController();
  let breach: ProxyError | undefined;
  const stopWatching = watchReserve(staging.incomingDir, staging.reserve(config.staging.minFreeBytes), (err) => {
    breach = err;
    reserveBreached.abort(err);
  });
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, reserveBreached.signal]) : reserveBreached.signal;
  const progress = new JobProgress(ctx.progress, job.fileName);
  progress.stage('download', { bytes: { done: job.highWaterMark, total: job.remoteSize }, baseBytes: job.highWaterMark });
  const result = await sftp.download({
    remotePath,
    partPath: staging.partPath(job.fileName),
    finalPath,
    expectedSize: job.remoteSize,
    resumeFrom: job.highWaterMark,
    concurrency: config.sftp.concurrency,
    ...(config.sftp.chunkSize > 0 ? { chunkSize: config.sftp.chunkSize } : {}),
    ...(publishedSha256 ? { expectedSha256: publishedSha256 } : {}),
    stallTimeoutMs: config.sftp.stallTimeoutMs,
    persistEveryBytes: config.sftp.checkpointBytes,
    onCheckpoint: (hwm: number) => ctx.jobs.checkpoint(job.fileName, hwm),
    signal,
    onProgress: (received: number) => progress.update({ bytes: { done: job.highWaterMark + received, total: job.remoteSize } }),
  }).catch((err: unknown) => {
    throw breach ?? err;
  }).finally(() => {
    stopWatching();
    progress.finish();
  });
  const seconds = (Date.now() - started) / 1000;
  log.info({ bytes: result.bytes, resumedFrom: result.resumedFrom, seconds, mibPerSec: +(result.bytes / 1048576 / Math.max(seconds, 0.001)).toFixed(1) }, 'download complete');
  return publishedSha256 ? { bytes: result.bytes, sha256: result.sha256, publishedSha256 } : { bytes: result.bytes, sha256: result.sha256 };
}
