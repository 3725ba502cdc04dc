/**
 * Never fill the disk (issue 11, item 5): extraction checks the declared expanded size plus the staging reserve before
 * it creates anything, and stops with DISK_FULL when free space falls below the reserve while it writes. Free space is
 * injected (a disk of a chosen size) and measured once for real with statfs.
 */
import { access, readdir, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractArchive, type ExtractOptions } from '../../../proxy/archive/extract.js';
import { writeZipFile } from '../../../proxy/archive/zip-writer.js';
import { isProxyError } from '../../../proxy/errors.js';
import { requireRoom, statfsFreeBytes } from '../../../proxy/util/free-space.js';
import { makeTempDir, randomData, textData } from '../../helpers/archive-tools.js';

const KEY = 'Archive-Key-123!';
const MiB = 1024 * 1024;
const RESERVE = 64 * MiB;
let work: string;
let zip: string;
let declared = 0;
let n = 0;

beforeAll(async () => {
  work = await makeTempDir('disk-reserve-');
  zip = join(work, 'a.zip');
  // Highly compressible text (a small archive that expands) and incompressible bytes.
  const files = [
    { name: 'history/messages.json', data: textData(6 * MiB) },
    ...Array.from({ length: 4 }, (_, i) => ({ name: `data-retention/voicemail/${i}.wav`, data: randomData(3 * MiB) })),
  ];
  declared = files.reduce((sum, f) => sum + f.data.length, 0);
  await writeZipFile(zip, files, { encryption: 'aes-256', password: KEY });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const options = (disk: ExtractOptions['disk']): ExtractOptions => ({
  password: KEY, allowUnencrypted: false, limits: { maxEntries: 100, maxTotalBytes: 1024 * MiB, maxEntryRatio: 1000 }, ...(disk ? { disk } : {}),
});
const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('extraction and the staging reserve', () => {
  it('DISK_FULL before creating anything when the declared expanded size plus the reserve is not free', async () => {
    const dest = join(work, `out-${++n}`);
    const seen: string[] = [];
    const freeBytes = (path: string): Promise<number> => {
      seen.push(path);
      return Promise.resolve(declared + RESERVE - 1);
    };
    const err = await errorOf(extractArchive(zip, dest, options({ reserveBytes: RESERVE, freeBytes })));
    expect(isProxyError(err, 'DISK_FULL')).toBe(true);
    expect((err as { details: unknown }).details).toMatchObject({ neededBytes: declared, reserveBytes: RESERVE, freeBytes: declared + RESERVE - 1 });
    expect(await exists(dest)).toBe(false);
    expect(seen).toEqual([work]); // measured where the destination would be created
  });

  it('extracts when exactly the declared size plus the reserve is free', async () => {
    const dest = join(work, `out-${++n}`);
    const result = await extractArchive(zip, dest, options({ reserveBytes: RESERVE, freeBytes: () => Promise.resolve(declared + RESERVE) }));
    expect(result.totalBytes).toBe(declared);
  });

  it('DISK_FULL while writing as soon as free space falls below the reserve (another process filled the disk)', async () => {
    const dest = join(work, `out-${++n}`);
    let calls = 0;
    // Plenty at the up-front check; from then on below the reserve.
    const freeBytes = (): Promise<number> => Promise.resolve(calls++ === 0 ? 10 * declared + RESERVE : RESERVE - 1);
    const err = await errorOf(extractArchive(zip, dest, options({ reserveBytes: RESERVE, freeBytes, pollMs: 1 })));
    expect(isProxyError(err, 'DISK_FULL')).toBe(true);
    expect((err as { details: unknown }).details).toMatchObject({ reserveBytes: RESERVE, freeBytes: RESERVE - 1 });
    expect(calls).toBeGreaterThan(1);
    await rm(dest, { recursive: true, force: true });
  });

  it('the real statfs: free bytes as df counts them, and a reserve larger than the disk refuses before extracting', async () => {
    // Other processes write to this disk meanwhile: free space read by statfs just before and just after bounds it.
    const s = await statfs(work);
    const free = await statfsFreeBytes(work);
    const after = await statfs(work);
    const [a, b] = [Number(s.bavail) * Number(s.bsize), Number(after.bavail) * Number(after.bsize)];
    expect(free).toBeGreaterThanOrEqual(Math.min(a, b));
    expect(free).toBeLessThanOrEqual(Math.max(a, b));
    expect(free).toBeGreaterThan(0);
    const diskSize = Number(s.blocks) * Number(s.bsize);
    const dest = join(work, `out-${++n}`);
    const err = await errorOf(extractArchive(zip, dest, options({ reserveBytes: diskSize })));
    expect(isProxyError(err, 'DISK_FULL')).toBe(true);
    expect(await exists(dest)).toBe(false);
    await expect(requireRoom(join(work, 'not', 'yet'), 1, { reserveBytes: 0 })).resolves.toBeUndefined();
    expect(await readdir(work)).not.toContain('not');
  });
});
