/**
 * Puts both sides of a timed comparison on the same footing with respect to the page cache.
 *
 * On this kind of VM (Firecracker guest), the first write into page-cache memory the guest has not used recently costs
 * the host a page fault per 4 KiB: `dd if=/dev/zero bs=1M count=512` into a new file took 0.7-1.4 s of system time
 * when the memory was fresh and 0.09 s when it reused pages just freed by deleting a file of the same size. Which side
 * of a comparison happens to get the fresh pages then decides the ratio more than the code does. So before every timed
 * run (ours and the peer's alike) we write and delete a scratch file as large as the run's output: the run then
 * writes into recycled pages, as a long-running proxy does (it deletes each extraction after the import).
 */
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';

const CHUNK = 4 * 1024 * 1024;

export async function recyclePageCache(dir: string, bytes: number): Promise<void> {
  const path = join(dir, 'page-cache-recycle.tmp');
  const block = Buffer.alloc(CHUNK);
  const file = await open(path, 'w');
  try {
    for (let done = 0; done < bytes; done += CHUNK) await file.write(block, 0, Math.min(CHUNK, bytes - done));
  } finally {
    await file.close();
    await rm(path, { force: true });
  }
}
