import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { requireRoom, statfsFreeBytes, type DiskReserve, type FreeBytes } from '../util/free-space.js';

/**
 * The staging directory:
 *   incoming/<name>.part   download in progress      incoming/<name>   downloaded, not yet imported
 *   extract/<jobId>/       extraction in progress    quarantine/<name> refused archives, kept for inspection
 *   archive/<name>         offline copies kept staging.keepArchiveDays days
 */
export class Staging {
  /** `freeBytes`: how free space is measured (statfs; tests inject a smaller disk). */
  constructor(readonly root: string, readonly freeBytesOf: FreeBytes = statfsFreeBytes) {}

  get incomingDir(): string { return join(this.root, 'incoming'); }
  get extractRoot(): string { return join(this.root, 'extract'); }
  get quarantineDir(): string { return join(this.root, 'quarantine'); }
  get archiveDir(): string { return join(this.root, 'archive'); }

  partPath(fileName: string): string { return join(this.incomingDir, `${fileName}.part`); }
  downloadedPath(fileName: string): string { return join(this.incomingDir, fileName); }
  extractDir(jobId: string): string { return join(this.extractRoot, jobId); }

  async ensure(): Promise<void> {
    for (const dir of [this.incomingDir, this.extractRoot, this.quarantineDir, this.archiveDir]) {
      await mkdir(dir, { recursive: true, mode: 0o750 });
    }
  }

  async freeBytes(): Promise<number> {
    return this.freeBytesOf(this.root);
  }

  /** The staging disk's reserve as extraction and downloads enforce it. */
  reserve(reserveBytes: number): DiskReserve {
    return { reserveBytes, freeBytes: this.freeBytesOf };
  }

  /** DISK_FULL unless `needed` bytes plus the configured reserve are free. */
  async requireFree(needed: number, reserve: number): Promise<void> {
    await requireRoom(this.root, needed, this.reserve(reserve));
  }

  async quarantine(path: string, fileName: string): Promise<string | undefined> {
    const target = join(this.quarantineDir, fileName);
    try {
      await rename(path, target);
      return target;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async removeExtract(jobId: string): Promise<void> {
    await rm(this.extractDir(jobId), { recursive: true, force: true });
  }

  /** After "downloaded" was reported: keep an offline copy for `keepDays`, or delete the raw archive. */
  async retire(fileName: string, keepDays: number): Promise<void> {
    const path = this.downloadedPath(fileName);
    if (keepDays > 0) {
      await rename(path, join(this.archiveDir, fileName)).catch(ignoreMissing);
    } else {
      await rm(path, { force: true });
    }
    await rm(this.partPath(fileName), { force: true });
  }

  /** Deletes offline copies older than `keepDays`; returns how many. */
  async pruneArchive(keepDays: number, now: Date): Promise<number> {
    let removed = 0;
    const cutoff = now.getTime() - keepDays * 86_400_000;
    for (const name of await readdir(this.archiveDir).catch(() => [] as string[])) {
      const path = join(this.archiveDir, name);
      const s = await stat(path).catch(() => undefined);
      if (s && s.mtimeMs < cutoff) {
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
