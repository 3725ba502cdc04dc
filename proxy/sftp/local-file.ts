import { constants, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { ProxyError } from '../errors.js';

/** A local file error as one of ours: ENOSPC -> DISK_FULL, anything else -> INTERNAL. */
export function localFileError(err: unknown, what: string): ProxyError {
  if (err instanceof ProxyError) return err;
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new ProxyError('DISK_FULL', what, { cause: err });
  return new ProxyError('INTERNAL', `${what}: ${(err as Error).message}`, { cause: err, details: { code } });
}

export interface PartFile {
  handle: fsp.FileHandle;
  /** Where the transfer continues: the requested resumeFrom, or 0 when the part file cannot back it. */
  resumeFrom: number;
  /** Why the requested resumeFrom was not used, if it was not. */
  restartReason?: string;
}

/**
 * Opens (creating if needed) the part file and cuts it to the resume point. Bytes beyond the persisted high-water mark
 * are discarded. A part file shorter than the mark cannot have what the checkpoint promised, so it starts over at 0.
 */
export async function openPartFile(partPath: string, resumeFrom: number, expectedSize: number): Promise<PartFile> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(partPath, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (err) {
    throw localFileError(err, `opening ${partPath}`);
  }
  try {
    const { size } = await handle.stat();
    let from = resumeFrom;
    let restartReason: string | undefined;
    if (from > expectedSize) {
      restartReason = `resume point ${from} is beyond the remote size ${expectedSize}`;
      from = 0;
    } else if (size < from) {
      restartReason = `part file has ${size} bytes, fewer than the resume point ${from}`;
      from = 0;
    }
    await handle.truncate(from);
    return restartReason === undefined ? { handle, resumeFrom: from } : { handle, resumeFrom: from, restartReason };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw localFileError(err, `preparing ${partPath}`);
  }
}

/** fsync of the directory holding `path`, so a rename into it survives a crash. */
export async function syncDirectoryOf(path: string): Promise<void> {
  const dir = await fsp.open(dirname(path), constants.O_RDONLY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
