import { posix } from 'node:path';
import type { Attributes, SFTPWrapper } from 'ssh2';
import { ProxyError, type ErrorCode } from '../errors.js';

/** A regular file on the server. */
export interface RemoteFile {
  name: string;
  size: number;
  mtimeMs: number;
}

/** SSH_FX_* status codes that matter here. */
export const SFTP_STATUS = { EOF: 1, NO_SUCH_FILE: 2 } as const;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/** The SFTP status code of an ssh2 error (a number), else undefined. */
export function sftpStatusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    return typeof code === 'number' ? code : undefined;
  }
  return undefined;
}

function isRegular(attrs: Attributes, longname?: string): boolean {
  if (typeof attrs.mode === 'number') return (attrs.mode & S_IFMT) === S_IFREG;
  return longname?.startsWith('-') ?? false; // servers that omit permissions: `ls -l` style long name
}

function toRemoteFile(name: string, attrs: Attributes): RemoteFile {
  return { name, size: attrs.size, mtimeMs: attrs.mtime * 1000 };
}

function wrap(code: ErrorCode, what: string, err: Error): ProxyError {
  return new ProxyError(code, `${what}: ${err.message}`, { cause: err, details: { sftpStatus: sftpStatusOf(err) } });
}

export function listRegularFiles(sftp: SFTPWrapper, dir: string): Promise<RemoteFile[]> {
  return new Promise((resolve, reject) => {
    sftp.readdir(dir, (err, entries) => {
      if (err) {
        reject(wrap('SFTP_LIST_FAILED', dir, err));
        return;
      }
      const files = entries
        .filter((entry) => isRegular(entry.attrs, entry.longname))
        .map((entry) => toRemoteFile(entry.filename, entry.attrs))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      resolve(files);
    });
  });
}

export function statRegularFile(sftp: SFTPWrapper, path: string): Promise<RemoteFile | undefined> {
  return new Promise((resolve, reject) => {
    sftp.lstat(path, (err, stats) => {
      if (err) {
        if (sftpStatusOf(err) === SFTP_STATUS.NO_SUCH_FILE) resolve(undefined);
        else reject(wrap('SFTP_LIST_FAILED', path, err));
        return;
      }
      resolve(isRegular(stats) ? toRemoteFile(posix.basename(path), stats) : undefined);
    });
  });
}

export function openRemote(sftp: SFTPWrapper, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sftp.open(path, 'r', (err, handle) => {
      if (!err) resolve(handle);
      else if (sftpStatusOf(err) === SFTP_STATUS.NO_SUCH_FILE) {
        reject(new ProxyError('REMOTE_FILE_CHANGED', `${path} no longer exists`, { cause: err }));
      } else reject(wrap('SFTP_TRANSFER_FAILED', `open ${path}`, err));
    });
  });
}

export function fstatRemote(sftp: SFTPWrapper, handle: Buffer, path: string): Promise<Attributes> {
  return new Promise((resolve, reject) => {
    sftp.fstat(handle, (err, stats) => {
      if (err) reject(wrap('SFTP_TRANSFER_FAILED', `fstat ${path}`, err));
      else resolve(stats);
    });
  });
}

/** Closes a remote handle; never rejects (a dead connection has nothing left to close). */
export function closeRemote(sftp: SFTPWrapper, handle: Buffer): Promise<void> {
  return new Promise((resolve) => {
    try {
      sftp.close(handle, () => resolve());
    } catch {
      resolve();
    }
  });
}

function readAt(sftp: SFTPWrapper, handle: Buffer, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => {
    sftp.read(handle, buf, off, len, pos, (err, bytesRead) => {
      if (err) reject(err);
      else resolve(bytesRead);
    });
  });
}

/** Reads a whole small file; undefined when missing; SFTP_TRANSFER_FAILED when it holds more than maxBytes. */
export async function readSmallRemoteFile(sftp: SFTPWrapper, path: string, maxBytes: number): Promise<Buffer | undefined> {
  let handle: Buffer;
  try {
    handle = await openRemote(sftp, path);
  } catch (err) {
    if (err instanceof ProxyError && err.code === 'REMOTE_FILE_CHANGED') return undefined;
    throw err;
  }
  try {
    // One byte more than allowed, to tell "exactly maxBytes" from "too big" without trusting the reported size.
    const buf = Buffer.allocUnsafe(maxBytes + 1);
    let filled = 0;
    while (filled < buf.length) {
      let n: number;
      try {
        n = await readAt(sftp, handle, buf, filled, buf.length - filled, filled);
      } catch (err) {
        throw wrap('SFTP_TRANSFER_FAILED', `read ${path}`, err as Error);
      }
      if (n === 0) break;
      filled += n;
    }
    if (filled > maxBytes) {
      throw new ProxyError('SFTP_TRANSFER_FAILED', `${path} is larger than ${maxBytes} bytes`, { details: { maxBytes } });
    }
    return Buffer.from(buf.subarray(0, filled));
  } finally {
    await closeRemote(sftp, handle);
  }
}

/**
 * Removes a file; true when it was removed, false when it was already gone (idempotent). SFTP_REMOVE_FAILED otherwise
 * (e.g. no write permission on the directory).
 */
export function removeRemoteFile(sftp: SFTPWrapper, path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    sftp.unlink(path, (err) => {
      if (!err) resolve(true);
      else if (sftpStatusOf(err) === SFTP_STATUS.NO_SUCH_FILE) resolve(false);
      else reject(wrap('SFTP_REMOVE_FAILED', `remove ${path}`, err));
    });
  });
}
