/**
 * Makes extracted files durable without stalling extraction: each finished file's fsync+close runs in the background
 * with bounded concurrency while the next entry is being written; directories are fsynced once at the end.
 */
import { close, fsync } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';

const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

export class DurableWrites {
  private readonly pending = new Set<Promise<void>>();
  private firstError: Error | undefined;
  private readonly dirs = new Set<string>();

  constructor(private readonly concurrency = 4) {}

  /** Queues fsync + close of a fully written file; waits only when `concurrency` syncs are already in flight. */
  async syncAndClose(fd: number): Promise<void> {
    while (this.pending.size >= this.concurrency) await Promise.race(this.pending);
    const p: Promise<void> = fsyncAsync(fd)
      .finally(() => closeAsync(fd))
      .catch((err: unknown) => {
        this.firstError ??= err instanceof Error ? err : new Error('fsync failed');
      })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Remembers a directory whose entries changed (fsynced in flush). */
  touchDirectory(dir: string): void {
    this.dirs.add(dir);
  }

  /** Waits for all file syncs, then fsyncs every touched directory (children before parents). Throws the first error. */
  async flush(): Promise<void> {
    await Promise.all(this.pending);
    if (this.firstError !== undefined) throw this.firstError;
    const dirs = [...this.dirs].sort((a, b) => b.length - a.length);
    for (const dir of dirs) {
      const fh = await open(dir, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }

  /** On failure: wait for in-flight syncs so no handle is left open; errors are ignored (the caller removes the files). */
  async abandon(): Promise<void> {
    await Promise.allSettled(this.pending);
  }
}
