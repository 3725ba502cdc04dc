/**
 * Free disk space, and the guard that keeps extraction (and downloads) out of the staging disk's reserve
 * (`staging.minFreeBytes`): on the single-VM layout MongoDB may live on the same disk.
 */
import { access, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ProxyError } from '../errors.js';

/** Bytes an unprivileged process may still write on the file system holding `path`. Injectable for tests. */
export type FreeBytes = (path: string) => Promise<number>;

export const statfsFreeBytes: FreeBytes = async (path) => {
  const s = await statfs(path);
  return Number(s.bavail) * Number(s.bsize);
};

export interface DiskReserve {
  /** Bytes that must stay free (`staging.minFreeBytes`). */
  readonly reserveBytes: number;
  /** Default: statfs. */
  readonly freeBytes?: FreeBytes;
  /** How often the reserve is checked while writing (default 250 ms). */
  readonly pollMs?: number;
}

/** The path itself, or its nearest existing ancestor (statfs needs something that exists). */
async function existing(path: string): Promise<string> {
  for (let p = path; ; p = dirname(p)) {
    if (await access(p).then(() => true, () => false)) return p;
    if (dirname(p) === p) return p;
  }
}

export function diskFull(dir: string, free: number, needed: number, reserve: number): ProxyError {
  return new ProxyError('DISK_FULL', `${free} bytes free in ${dir}, ${needed} needed plus the reserve of ${reserve}`, {
    details: { dir, freeBytes: free, neededBytes: needed, reserveBytes: reserve },
  });
}

/** DISK_FULL unless `needed` bytes plus the reserve are free where `path` is (or would be created). */
export async function requireRoom(path: string, needed: number, disk: DiskReserve): Promise<void> {
  const at = await existing(path);
  const free = await (disk.freeBytes ?? statfsFreeBytes)(at);
  if (free < needed + disk.reserveBytes) throw diskFull(at, free, needed, disk.reserveBytes);
}

/**
 * Polls the free space of `path` while something writes there and calls `onBreach` once with DISK_FULL the first
 * time it is below the reserve (another process may fill the disk after the up-front check). Returns stop().
 * A failing statfs is not a breach (the writer's own ENOSPC still maps to DISK_FULL).
 */
export function watchReserve(path: string, disk: DiskReserve, onBreach: (err: ProxyError) => void): () => void {
  const freeBytes = disk.freeBytes ?? statfsFreeBytes;
  let busy = false;
  let stopped = false;
  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    freeBytes(path)
      .then((free) => {
        if (!stopped && free < disk.reserveBytes) {
          stopped = true;
          clearInterval(timer);
          onBreach(diskFull(path, free, 0, disk.reserveBytes));
        }
      }, () => undefined)
      .finally(() => {
        busy = false;
      });
  }, disk.pollMs ?? 250);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
