/**
 * The worker-thread path of extractArchive. Worker threads run the compiled JavaScript, so this test uses dist/
 * (the integration tier builds first); the unit tests cover the same per-entry code on the calling thread.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type * as ExtractModule from '../../../proxy/archive/extract.js';
import { writeZipFile } from '../../../proxy/archive/zip-writer.js';
import { dataStart, makeAes7z, makeTempDir, makeZipCrypto, randomData, textData, type FileSpec } from '../../helpers/archive-tools.js';

const KEY = 'Archive-Key-123!';
const LIMITS = { maxEntries: 1000, maxTotalBytes: 1024 ** 3, maxEntryRatio: 200 };
const FILES: FileSpec[] = Array.from({ length: 9 }, (_, i) =>
  i % 3 === 0 ? { name: `media/m-${i}.bin`, data: randomData(300_000 + i) } : { name: `records/c${i}/part.json`, data: textData(400_000 + i, `r${i}`) },
);

let work: string;
let n = 0;
let extractArchive: typeof ExtractModule.extractArchive;
const dest = (): string => join(work, `out-${++n}`);
const threaded = (over: Partial<ExtractModule.ExtractOptions> = {}): ExtractModule.ExtractOptions => ({
  password: KEY, allowUnencrypted: false, limits: LIMITS, threads: 2, ...over,
});

async function errorOf(p: Promise<unknown>): Promise<{ name?: string; code?: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as { name?: string; code?: string };
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  work = await makeTempDir();
  const url = new URL('../../../dist/proxy/archive/extract.js', import.meta.url).href;
  ({ extractArchive } = (await import(url)) as typeof ExtractModule);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('extractArchive on worker threads (dist)', () => {
  it.each([
    ['7z WinZip AES-256', (dir: string) => makeAes7z(dir, FILES, KEY), 'aes-256'],
    ['Info-ZIP ZipCrypto', (dir: string) => makeZipCrypto(dir, FILES, KEY), 'zipcrypto'],
  ])('extracts %s with every file, size and CRC-32 right', async (_label, make, encryption) => {
    const zip = await make(work);
    const out = dest();
    const res = await extractArchive(zip, out, threaded());
    expect(res.entries.map((e) => e.path).sort()).toEqual(FILES.map((f) => f.name).sort());
    for (const f of FILES) {
      const got = res.entries.find((e) => e.path === f.name);
      expect(got).toEqual({ path: f.name, size: f.data.length, crc32: crc32(f.data), encryption });
      expect((await readFile(join(out, f.name))).equals(f.data)).toBe(true);
    }
    expect(res.totalBytes).toBe(FILES.reduce((s, f) => s + f.data.length, 0));
  });

  it('keeps accepted small entries in memory with worker threads: Buffers of their own with the right bytes, no file written', async () => {
    const zip = await makeAes7z(work, FILES, KEY);
    const out = dest();
    const res = await extractArchive(zip, out, threaded({ inMemoryEntryBytes: 1024 * 1024, keepInMemory: { maxBytes: 1024 ** 3, accept: (p) => p.startsWith('media/') } }));
    for (const f of FILES) {
      const got = res.entries.find((e) => e.path === f.name)!;
      expect(got.crc32).toBe(crc32(f.data));
      if (f.name.startsWith('media/')) {
        expect(Buffer.isBuffer(got.data)).toBe(true);
        expect(got.data!.equals(f.data)).toBe(true);
        expect(got.data!.buffer.byteLength).toBe(f.data.length); // not a view into a larger allocation
        await expect(readFile(join(out, f.name))).rejects.toMatchObject({ code: 'ENOENT' });
      } else {
        expect(got.data).toBeUndefined();
        expect((await readFile(join(out, f.name))).equals(f.data)).toBe(true);
      }
    }
  });

  it('reports a tampered AES entry as ARCHIVE_BAD_HMAC with its path (the error crosses the thread)', async () => {
    const zip = await makeAes7z(work, FILES, KEY);
    const buf = await readFile(zip);
    const victim = FILES[4]!.name;
    const at = dataStart(buf, victim) + 16 + 2 + 1000;
    buf[at] = buf[at]! ^ 0x40;
    const bad = join(work, `bad-${++n}.zip`);
    await writeFile(bad, buf);
    const err = await errorOf(extractArchive(bad, dest(), threaded()));
    expect(err.name).toBe('ProxyError');
    expect(err.code).toBe('ARCHIVE_BAD_HMAC');
  });

  it('enforces the total size budget across threads (ARCHIVE_TOO_LARGE)', async () => {
    const zip = join(work, `budget-${++n}.zip`);
    await writeZipFile(zip, FILES, { encryption: 'aes-256', password: KEY });
    const total = FILES.reduce((s, f) => s + f.data.length, 0);
    const err = await errorOf(extractArchive(zip, dest(), threaded({ limits: { ...LIMITS, maxTotalBytes: total - 1 } })));
    expect(err.code).toBe('ARCHIVE_TOO_LARGE');
  });

  it('stops with an AbortError, and no thread writes after it returned', async () => {
    const zip = join(work, `abort-${++n}.zip`);
    await writeZipFile(zip, FILES, { encryption: 'aes-256', password: KEY });
    const controller = new AbortController();
    const out = dest();
    const p = extractArchive(zip, out, threaded({ signal: controller.signal, onProgress: () => controller.abort() }));
    const err = await errorOf(p);
    expect(err.name).toBe('AbortError');
    const before = await readdir(out, { recursive: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(await readdir(out, { recursive: true })).toEqual(before);
  });

  it('stops with DISK_FULL when free space falls below the reserve while threads write, and no thread writes after it', async () => {
    const zip = join(work, `disk-${++n}.zip`);
    await writeZipFile(zip, FILES, { encryption: 'aes-256', password: KEY });
    const out = dest();
    let calls = 0;
    let entriesDone = 0;
    // Plenty at the up-front check; below the reserve once the first entry is written (another process filled the disk).
    const freeBytes = (): Promise<number> => Promise.resolve(calls++ === 0 || entriesDone === 0 ? 1024 ** 3 : 1);
    const err = await errorOf(extractArchive(zip, out, threaded({
      disk: { reserveBytes: 1024 * 1024, freeBytes, pollMs: 1 },
      onProgress: (p) => { entriesDone = p.entries; },
    })));
    expect(err.code).toBe('DISK_FULL');
    expect(entriesDone).toBeLessThan(FILES.length);
    const before = await readdir(out, { recursive: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(await readdir(out, { recursive: true })).toEqual(before);
  });
});
