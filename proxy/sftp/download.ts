import { promises as fsp } from 'node:fs';
import type { Logger } from 'pino';
import type { SFTPWrapper } from 'ssh2';
import { ProxyError } from '../errors.js';
import { localFileError, openPartFile, syncDirectoryOf } from './local-file.js';
import { openPartSink, type PartSink } from './part-sink.js';
import { closeRemote, fstatRemote, openRemote } from './remote-ops.js';
import { transferRange } from './transfer.js';

export interface DownloadOptions {
  remotePath: string;
  /** Local `<name>.part` in staging. */
  partPath: string;
  /** Renamed to this after success (after fsync of the file; then fsync of the directory). */
  finalPath: string;
  /** From the stable listing. */
  expectedSize: number;
  /** Persisted contiguous high-water mark (0 = fresh). Bytes beyond it in partPath are discarded. */
  resumeFrom: number;
  /** Parallel outstanding reads, default 64. */
  concurrency?: number;
  /** Bytes per read request; default and ceiling: the server's max read length (OpenSSH: 255 KiB), else 64 KiB. */
  chunkSize?: number;
  /** Hex sha256 the vendor published -> DOWNLOAD_CHECKSUM_MISMATCH on mismatch. */
  expectedSha256?: string;
  /** Default 8 MiB: how often onCheckpoint is called. */
  persistEveryBytes?: number;
  /** Awaited; called only with marks whose bytes are already fdatasync'ed to partPath. */
  onCheckpoint?: (highWaterMark: number) => Promise<void>;
  /** Bytes received from the server by this call so far (the resumed prefix is not counted). */
  onProgress?: (bytes: number) => void;
  /** No data for this long -> SFTP_TIMEOUT (default 60000). */
  stallTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface DownloadResult {
  /** Size of the finished file. */
  bytes: number;
  /** Lower-case hex sha256 of the whole file. */
  sha256: string;
  /** Where this call actually started (0 when the part file could not back the requested resume point). */
  resumedFrom: number;
}

export interface DownloadDeps {
  /** Already a child with `{ component: 'sftp' }` (the session passes its own). */
  log: Logger;
  /** The server's max read length as ssh2 learned it (limits@openssh.com), if known. */
  maxReadLen: number | undefined;
}

const DEFAULT_CONCURRENCY = 64;
/** concurrency / SPARE_FRACTION extra buffers let new reads go out while finished chunks wait for their write. */
const SPARE_FRACTION = 4;
const FALLBACK_CHUNK = 64 * 1024;
const DEFAULT_PERSIST_EVERY = 8 * 1024 * 1024;
const DEFAULT_STALL_MS = 60_000;
const MIB = 1024 * 1024;

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new ProxyError('VALIDATION', `${name} must be a positive integer`);
  return value;
}

function checkOptions(o: DownloadOptions): void {
  if (!Number.isSafeInteger(o.expectedSize) || o.expectedSize < 0) throw new ProxyError('VALIDATION', 'expectedSize');
  if (!Number.isSafeInteger(o.resumeFrom) || o.resumeFrom < 0) throw new ProxyError('VALIDATION', 'resumeFrom');
  if (o.partPath === o.finalPath) throw new ProxyError('VALIDATION', 'partPath and finalPath must differ');
}

/**
 * Downloads one remote file into partPath (resuming at resumeFrom), verifies size and checksum, then renames it to
 * finalPath durably. See DownloadOptions for the contract; errors are ProxyErrors (SFTP_TRANSFER_FAILED on connection
 * loss: reconnect and call again with the last checkpoint).
 */
export async function downloadFile(sftp: SFTPWrapper, o: DownloadOptions, deps: DownloadDeps): Promise<DownloadResult> {
  checkOptions(o);
  const log = deps.log;
  const concurrency = positiveInt(o.concurrency, DEFAULT_CONCURRENCY, 'concurrency');
  const wantedChunk = positiveInt(o.chunkSize, deps.maxReadLen ?? FALLBACK_CHUNK, 'chunkSize');
  // Bigger requests than the server serves would make ssh2 split them into sequential round trips.
  const chunkSize = deps.maxReadLen === undefined ? wantedChunk : Math.min(wantedChunk, deps.maxReadLen);
  const persistEveryBytes = positiveInt(o.persistEveryBytes, DEFAULT_PERSIST_EVERY, 'persistEveryBytes');
  const stallTimeoutMs = positiveInt(o.stallTimeoutMs, DEFAULT_STALL_MS, 'stallTimeoutMs');
  if (o.signal?.aborted) throw new ProxyError('DOWNLOAD_ABORTED', o.remotePath);

  const handle = await openRemote(sftp, o.remotePath);
  let remoteOpen = true;
  let part: Awaited<ReturnType<typeof openPartFile>> | undefined;
  let sink: PartSink | undefined;
  try {
    const before = await fstatRemote(sftp, handle, o.remotePath);
    if (before.size !== o.expectedSize) {
      throw new ProxyError('REMOTE_FILE_CHANGED', `${o.remotePath} has ${before.size} bytes, the listing said ${o.expectedSize}`, {
        details: { expectedSize: o.expectedSize, remoteSize: before.size },
      });
    }
    part = await openPartFile(o.partPath, o.resumeFrom, o.expectedSize);
    const resumedFrom = part.resumeFrom;
    if (part.restartReason) log.warn({ partPath: o.partPath, reason: part.restartReason }, 'cannot resume; starting over');
    sink = await openPartSink(part.handle.fd, part.resumeFrom, { remainingBytes: o.expectedSize - part.resumeFrom }).catch((err: unknown) => {
      throw localFileError(err, `hashing ${o.partPath}`);
    });

    const startedAt = Date.now();
    log.info({ remotePath: o.remotePath, expectedSize: o.expectedSize, resumeFrom: part.resumeFrom, chunkSize, concurrency }, 'download started');
    await transferRange({
      sftp,
      handle,
      remotePath: o.remotePath,
      fd: part.handle.fd,
      partPath: o.partPath,
      sink,
      start: part.resumeFrom,
      end: o.expectedSize,
      concurrency,
      spareBuffers: Math.ceil(concurrency / SPARE_FRACTION),
      chunkSize,
      persistEveryBytes,
      onCheckpoint: o.onCheckpoint,
      onProgress: o.onProgress,
      stallTimeoutMs,
      signal: o.signal,
      log,
    });

    const after = await fstatRemote(sftp, handle, o.remotePath);
    if (after.size !== o.expectedSize) {
      throw new ProxyError('REMOTE_FILE_CHANGED', `${o.remotePath} changed size to ${after.size} during the download`, {
        details: { expectedSize: o.expectedSize, remoteSize: after.size },
      });
    }
    remoteOpen = false;
    await closeRemote(sftp, handle);

    try {
      await part.handle.sync();
    } catch (err) {
      throw localFileError(err, `fsync ${o.partPath}`);
    }
    const { size } = await part.handle.stat();
    if (size !== o.expectedSize) {
      throw new ProxyError('DOWNLOAD_SIZE_MISMATCH', `${o.partPath} has ${size} bytes, expected ${o.expectedSize}`, {
        details: { expectedSize: o.expectedSize, localSize: size },
      });
    }
    const sha256 = await sink.digest();
    await sink.close();
    sink = undefined;
    if (o.expectedSha256 !== undefined && o.expectedSha256.trim().toLowerCase() !== sha256) {
      // No byte range of this part file can be trusted any more: remove it so nobody resumes from it.
      await part.handle.close();
      part = undefined;
      await fsp.rm(o.partPath, { force: true });
      throw new ProxyError('DOWNLOAD_CHECKSUM_MISMATCH', o.remotePath, {
        details: { expected: o.expectedSha256, actual: sha256, partRemoved: true },
      });
    }
    await part.handle.close();
    part = undefined;
    try {
      await fsp.rename(o.partPath, o.finalPath);
      await syncDirectoryOf(o.finalPath);
    } catch (err) {
      throw localFileError(err, `renaming ${o.partPath}`);
    }
    const seconds = Math.max((Date.now() - startedAt) / 1000, 1e-3);
    const fetched = o.expectedSize - resumedFrom;
    log.info({ remotePath: o.remotePath, bytes: o.expectedSize, fetched, seconds, mibPerSec: Math.round((fetched / MIB / seconds) * 10) / 10 }, 'download finished');
    return { bytes: o.expectedSize, sha256, resumedFrom };
  } finally {
    // The sink is idle here (transferRange settles only then); its thread must be gone before the fd is closed.
    if (sink) await sink.close();
    if (part) await part.handle.close().catch(() => undefined);
    // On failure the connection may be stalled: closing the handle is best effort and never awaited then.
    if (remoteOpen) void closeRemote(sftp, handle);
  }
}
