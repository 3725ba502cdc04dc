import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { extractArchive, inspectArchive, type ExtractOptions } from '../../../proxy/archive/extract.js';
import { writeZipFile, type ZipWriterOptions } from '../../../proxy/archive/zip-writer.js';
import {
  makeAes7z,
  makeTempDir,
  makeZipCrypto,
  makeZipCryptoFromStdin,
  randomData,
  textData,
  type FileSpec,
} from '../../helpers/archive-tools.js';

const KEY = 'Archive-Key-123!';
const LIMITS = { maxEntries: 1000, maxTotalBytes: 1024 ** 3, maxEntryRatio: 200 };
const opts = (over: Partial<ExtractOptions> = {}): ExtractOptions => ({ password: KEY, allowUnencrypted: false, limits: LIMITS, ...over });

let work: string;
let n = 0;
const dest = (): string => join(work, `out-${++n}`);

beforeAll(async () => {
  work = await makeTempDir();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const SAMPLE: FileSpec[] = [
  { name: 'manifest.json', data: Buffer.from('{"version":1}\n') },
  { name: 'records/users/part-0001.json', data: textData(300_000) },
  { name: 'records/orders/deep/nested/part-0001.json', data: textData(50_000, 'order') },
  { name: 'media/photo.bin', data: randomData(200_000) },
  { name: 'empty.txt', data: Buffer.alloc(0) },
];

/** Extracts and checks every file's bytes and reported hash. */
async function expectRoundTrip(zip: string, files: readonly FileSpec[], encryption: string, o: ExtractOptions = opts()): Promise<void> {
  const out = dest();
  const res = await extractArchive(zip, out, o);
  expect(res.entries.map((e) => e.path).sort()).toEqual(files.map((f) => f.name).sort());
  for (const f of files) {
    const got = res.entries.find((e) => e.path === f.name);
    expect(got?.size).toBe(f.data.length);
    expect(got?.crc32).toBe(crc32(f.data));
    expect(got?.encryption).toBe(encryption);
    expect((await readFile(join(out, f.name))).equals(f.data)).toBe(true);
    expect((await stat(join(out, f.name))).mode & 0o777).toBe(0o640 & ~process.umask());
  }
  expect(res.totalBytes).toBe(files.reduce((s, f) => s + f.data.length, 0));
}

describe('reading archives made by real tools', () => {
  it('opens 7z WinZip AES-256 (deflate, nested folders, empty file)', async () => {
    const zip = await makeAes7z(work, SAMPLE, KEY);
    await expectRoundTrip(zip, SAMPLE, 'aes-256');
  });

  it('opens 7z WinZip AES-256 stored (-mx=0)', async () => {
    const zip = await makeAes7z(work, SAMPLE, KEY, { store: true });
    await expectRoundTrip(zip, SAMPLE, 'aes-256');
  });

  it('opens Info-ZIP ZipCrypto, deflate and store', async () => {
    await expectRoundTrip(await makeZipCrypto(work, SAMPLE, KEY), SAMPLE, 'zipcrypto');
    await expectRoundTrip(await makeZipCrypto(work, SAMPLE, KEY, { store: true }), SAMPLE, 'zipcrypto');
  });

  it('opens Info-ZIP ZipCrypto with forced Zip64 records (zip -fz)', async () => {
    await expectRoundTrip(await makeZipCrypto(work, SAMPLE, KEY, { zip64: true }), SAMPLE, 'zipcrypto');
  });

  it('opens a streamed Info-ZIP entry with a data descriptor (zip - from stdin, plain and -fz)', async () => {
    const data = textData(400_000, 'stdin');
    await expectRoundTrip(await makeZipCryptoFromStdin(work, data, KEY), [{ name: '-', data }], 'zipcrypto');
    await expectRoundTrip(await makeZipCryptoFromStdin(work, data, KEY, { zip64: true }), [{ name: '-', data }], 'zipcrypto');
  });

  it('extracts a 20 MiB file from 7z AES and from ZipCrypto', async () => {
    const big: FileSpec[] = [{ name: 'big/mixed.bin', data: Buffer.concat([textData(10 * 1024 * 1024), randomData(10 * 1024 * 1024)]) }];
    await expectRoundTrip(await makeAes7z(work, big, KEY), big, 'aes-256');
    await expectRoundTrip(await makeZipCrypto(work, big, KEY), big, 'zipcrypto');
  });
});

describe('reading archives made by our writer', () => {
  const cases: [string, ZipWriterOptions, string][] = [
    ['AES-256 AE-2 deflate', { encryption: 'aes-256', password: KEY }, 'aes-256'],
    ['AES-256 AE-1 deflate', { encryption: 'aes-256', password: KEY, aesVersion: 1 }, 'aes-256'],
    ['AES-256 AE-1 store, forced Zip64', { encryption: 'aes-256', password: KEY, aesVersion: 1, compression: 'store', zip64: 'force' }, 'aes-256'],
    ['ZipCrypto deflate', { encryption: 'zipcrypto', password: KEY }, 'zipcrypto'],
    ['ZipCrypto store, forced Zip64', { encryption: 'zipcrypto', password: KEY, compression: 'store', zip64: 'force' }, 'zipcrypto'],
  ];
  for (const [label, wopts, encryption] of cases) {
    it(`round-trips ${label} from Buffers and from streams`, async () => {
      const zipBuf = join(work, `ours-buf-${++n}.zip`);
      await writeZipFile(zipBuf, SAMPLE.map((f) => ({ name: f.name, data: f.data })), wopts);
      await expectRoundTrip(zipBuf, SAMPLE, encryption);
      const zipStream = join(work, `ours-stream-${++n}.zip`);
      await writeZipFile(zipStream, SAMPLE.map((f) => ({ name: f.name, data: Readable.from([f.data.subarray(0, 1000), f.data.subarray(1000)]) })), wopts);
      await expectRoundTrip(zipStream, SAMPLE, encryption);
    });
  }

  it('accepts unencrypted archives only when allowUnencrypted is true', async () => {
    const zip = join(work, `plain-${++n}.zip`);
    await writeZipFile(zip, SAMPLE, { encryption: 'none' });
    await expectRoundTrip(zip, SAMPLE, 'none', opts({ allowUnencrypted: true }));
  });

  it('inspectArchive lists entries without extracting', async () => {
    const zip = join(work, `inspect-${++n}.zip`);
    await writeZipFile(zip, SAMPLE, { encryption: 'aes-256', password: KEY });
    const { entries } = await inspectArchive(zip, { allowUnencrypted: false, limits: LIMITS });
    expect(entries.map((e) => [e.path, e.size, e.encryption])).toEqual(SAMPLE.map((f) => [f.name, f.data.length, 'aes-256']));
    expect(entries.every((e) => e.compressedSize > 0)).toBe(true);
  });

  it('reports progress once per entry', async () => {
    const zip = join(work, `progress-${++n}.zip`);
    await writeZipFile(zip, SAMPLE, { encryption: 'aes-256', password: KEY });
    const seen: number[] = [];
    await extractArchive(zip, dest(), opts({ onProgress: (p) => seen.push(p.entries) }));
    expect(seen).toEqual(SAMPLE.map((_, i) => i + 1));
  });

  it('stops with an AbortError when the signal is aborted', async () => {
    const zip = join(work, `abort-${++n}.zip`);
    await writeZipFile(zip, SAMPLE, { encryption: 'aes-256', password: KEY });
    const err: unknown = await extractArchive(zip, dest(), opts({ signal: AbortSignal.abort() })).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
  });
});
