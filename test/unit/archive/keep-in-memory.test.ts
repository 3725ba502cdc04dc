/**
 * ExtractOptions.keepInMemory: small entries the caller accepts come back in `data`, verified exactly as written
 * files are, and are not written; the byte allowance is never exceeded; everything else is written as before.
 * (The worker-thread path: test/integration/archive/threaded-extract.test.ts.)
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { access, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { KEPT_ENTRY_OVERHEAD, extractArchive, type ExtractLimits, type ExtractOptions } from '../../../proxy/archive/extract.js';
import { writeZipFile } from '../../../proxy/archive/zip-writer.js';
import { makeAes7z, makeTempDir, makeZipCrypto, randomData, textData, type FileSpec } from '../../helpers/archive-tools.js';

const KEY = 'Archive-Key-123!';
const LIMITS: ExtractLimits = { maxEntries: 1000, maxTotalBytes: 1024 ** 3, maxEntryRatio: 200 };
const FILES: FileSpec[] = [
  { name: 'records/a.json', data: textData(30_000) },
  { name: 'media/small-1.wav', data: randomData(40_000) },
  { name: 'media/small-2.png', data: textData(60_000, 'p') },
  { name: 'media/empty.txt', data: Buffer.alloc(0) },
  { name: 'media/large.wav', data: randomData(400_000) },
];

let work: string;
let n = 0;
const dest = (): string => join(work, `out-${++n}`);
const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);
const media = (path: string): boolean => path.startsWith('media/');
const options = (over: Partial<ExtractOptions>): ExtractOptions => ({ password: KEY, allowUnencrypted: false, limits: LIMITS, ...over });

beforeAll(async () => {
  work = await makeTempDir();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('extractArchive keepInMemory', () => {
  it.each([
    ['7z WinZip AES-256', (dir: string) => makeAes7z(dir, FILES, KEY)],
    ['Info-ZIP ZipCrypto', (dir: string) => makeZipCrypto(dir, FILES, KEY)],
  ])('%s: accepted small entries come back in data and are not written; the rest are written', async (_label, make) => {
    const zip = await make(work);
    const out = dest();
    const res = await extractArchive(zip, out, options({ keepInMemory: { maxBytes: 1024 ** 2, accept: media } }));
    for (const f of FILES) {
      const got = res.entries.find((e) => e.path === f.name)!;
      expect(got.size).toBe(f.data.length);
      expect(got.crc32).toBe(crc32(f.data));
      const kept = media(f.name) && f.data.length <= 256 * 1024;
      expect(got.data !== undefined).toBe(kept);
      expect(await exists(join(out, f.name))).toBe(!kept);
      const bytes = got.data ?? (await readFile(join(out, f.name)));
      expect(Buffer.isBuffer(bytes)).toBe(true);
      expect(bytes.equals(f.data)).toBe(true);
    }
    // A kept entry holds a buffer of its own, not a view into a larger one.
    for (const e of res.entries) if (e.data && e.data.length > 0) expect(e.data.buffer.byteLength).toBe(e.data.length);
  });

  it('never keeps more than maxBytes of declared size; the entries past it are written', async () => {
    const files = Array.from({ length: 10 }, (_, i) => ({ name: `media/m${i}.bin`, data: randomData(10_000) }));
    const zip = join(work, `many-${++n}.zip`);
    await writeZipFile(zip, files, { encryption: 'aes-256', password: KEY });
    const out = dest();
    const res = await extractArchive(zip, out, options({ keepInMemory: { maxBytes: 35_000, accept: () => true } }));
    const kept = res.entries.filter((e) => e.data !== undefined);
    expect(kept).toHaveLength(3);
    expect((await readdir(join(out, 'media'))).sort()).toEqual(res.entries.filter((e) => e.data === undefined).map((e) => e.path.slice('media/'.length)).sort());
    for (const e of res.entries) expect((e.data ?? (await readFile(join(out, e.path)))).equals(files.find((f) => f.name === e.path)!.data)).toBe(true);
  });

  it('counts each kept entry\'s own cost too: of 40 empty files, a 10 x KEPT_ENTRY_OVERHEAD allowance keeps 10', async () => {
    const files = Array.from({ length: 40 }, (_, i) => ({ name: `media/e${i}.txt`, data: Buffer.alloc(0) }));
    const zip = join(work, `empty-${++n}.zip`);
    await writeZipFile(zip, files, { encryption: 'aes-256', password: KEY });
    const out = dest();
    const res = await extractArchive(zip, out, options({ keepInMemory: { maxBytes: 10 * KEPT_ENTRY_OVERHEAD, accept: () => true } }));
    expect(res.entries.filter((e) => e.data !== undefined)).toHaveLength(10);
    expect(await readdir(join(out, 'media'))).toHaveLength(30);
  });

  it('a maxBytes that is not a finite number keeps nothing', async () => {
    const zip = await makeAes7z(work, FILES, KEY);
    for (const maxBytes of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const res = await extractArchive(zip, dest(), options({ keepInMemory: { maxBytes, accept: () => true } }));
      expect(res.entries.every((e) => e.data === undefined)).toBe(true);
    }
  });

  it('maxBytes 0, or no keepInMemory, writes every entry', async () => {
    const zip = await makeAes7z(work, FILES, KEY);
    for (const over of [{ keepInMemory: { maxBytes: 0, accept: () => true } }, {}]) {
      const out = dest();
      const res = await extractArchive(zip, out, options(over));
      expect(res.entries.every((e) => e.data === undefined)).toBe(true);
      for (const f of FILES) expect((await readFile(join(out, f.name))).equals(f.data)).toBe(true);
    }
  });

  it('every entry streamed (inMemoryEntryBytes 0): nothing is kept', async () => {
    const zip = await makeAes7z(work, FILES, KEY);
    const res = await extractArchive(zip, dest(), options({ inMemoryEntryBytes: 0, keepInMemory: { maxBytes: 1024 ** 2, accept: () => true } }));
    expect(res.entries.every((e) => e.data === undefined)).toBe(true);
  });
});
