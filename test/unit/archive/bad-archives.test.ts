import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { access, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extractArchive, inspectArchive, type ExtractLimits, type ExtractOptions, type ExtractResult } from '../../../proxy/archive/extract.js';
import { writeZipFile, type ZipWriterOptions } from '../../../proxy/archive/zip-writer.js';
import type { ErrorCode } from '../../../proxy/errors.js';
import {
  centralEntries,
  centralEntry,
  dataStart,
  makeAes7z,
  makePlainZip,
  makeSymlinkZip,
  makeTempDir,
  makeZipCrypto,
  makeZipCryptoFromStdin,
  patchDeclaredSize,
  randomData,
  textData,
} from '../../helpers/archive-tools.js';

const KEY = 'Archive-Key-123!';
const LIMITS: ExtractLimits = { maxEntries: 1000, maxTotalBytes: 1024 ** 3, maxEntryRatio: 200 };
const AES: ZipWriterOptions = { encryption: 'aes-256', password: KEY };

let work: string;
let n = 0;
const dest = (): string => join(work, `out-${++n}`);

beforeAll(async () => {
  work = await makeTempDir();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | 'resolved' | 'foreign'> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    const code = (err as { code?: unknown; name?: unknown }).code;
    return (err as { name?: unknown }).name === 'ProxyError' && typeof code === 'string' ? (code as ErrorCode) : 'foreign';
  }
}

function extractWith(zip: string, over: Partial<ExtractOptions>, out: string): Promise<ExtractResult> {
  return extractArchive(zip, out, { password: KEY, allowUnencrypted: false, limits: LIMITS, ...over });
}

async function ours(files: { name: string; data: Buffer }[], options: ZipWriterOptions = AES): Promise<string> {
  const path = join(work, `ours-${++n}.zip`);
  await writeZipFile(path, files, options);
  return path;
}

async function patched(zip: string, patch: (buf: Buffer) => void): Promise<string> {
  const buf = await readFile(zip);
  patch(buf);
  const path = join(work, `patched-${++n}.zip`);
  await writeFile(path, buf);
  return path;
}

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);
const THREE = [
  { name: 'a.json', data: textData(20_000) },
  { name: 'b.json', data: textData(20_000, 'b') },
  { name: 'c.bin', data: randomData(5000) },
];
// Small entries go the in-memory way (small-entry.ts: 256 KiB by default, up to 1 MiB), larger ones stream
// (entry-file.ts): every refusal is checked with the default, with every entry up to 1 MiB in memory (which takes the
// "sizes never trusted" archives of 0.4 MiB stored too), with every entry streamed, and with small entries kept in
// memory instead of written (ExtractOptions.keepInMemory, what the pipeline does with media files).
const KEEP_ALL: Partial<ExtractOptions> = { inMemoryEntryBytes: 1024 * 1024, keepInMemory: { maxBytes: 1024 ** 3, accept: () => true } };
const MODES: { name: string; over: Partial<ExtractOptions> }[] = [
  { name: 'small entries in memory (the default)', over: {} },
  { name: 'entries up to 1 MiB in memory', over: { inMemoryEntryBytes: 1024 * 1024 } },
  { name: 'every entry streamed', over: { inMemoryEntryBytes: 0 } },
  { name: 'entries up to 1 MiB kept in memory, not written', over: KEEP_ALL },
];

for (const mode of MODES) describe(mode.name, () => {
  const extract = (zip: string, over: Partial<ExtractOptions> = {}, out = dest()): Promise<ExtractResult> => extractWith(zip, { ...mode.over, ...over }, out);

  describe('wrong key', () => {
    it('AES (7z): ARCHIVE_WRONG_KEY and the destination is not even created', async () => {
      const zip = await makeAes7z(work, THREE, KEY);
      const out = dest();
      expect(await codeOf(extract(zip, { password: 'not-the-key' }, out))).toBe('ARCHIVE_WRONG_KEY');
      expect(await exists(out)).toBe(false);
    });

    it('ZipCrypto (zip -P): ARCHIVE_WRONG_KEY and the destination is not even created', async () => {
      const zip = await makeZipCrypto(work, THREE, KEY);
      const out = dest();
      expect(await codeOf(extract(zip, { password: 'not-the-key' }, out))).toBe('ARCHIVE_WRONG_KEY');
      expect(await exists(out)).toBe(false);
    });
  });

  describe('corrupted data', () => {
    it('a flipped AES ciphertext byte gives ARCHIVE_BAD_HMAC (deflate and store)', async () => {
      for (const store of [false, true]) {
        const zip = await makeAes7z(work, [{ name: 'data.json', data: textData(200_000) }], KEY, { store });
        const bad = await patched(zip, (b) => {
          const at = dataStart(b, 'data.json') + 16 + 2 + 100; // past salt + verifier
          b[at] = b[at]! ^ 0x01;
        });
        expect(await codeOf(extract(bad))).toBe('ARCHIVE_BAD_HMAC');
      }
    });

    it('a flipped AES MAC byte gives ARCHIVE_BAD_HMAC', async () => {
      const zip = await ours([{ name: 'x.json', data: textData(10_000) }]);
      const bad = await patched(zip, (b) => {
        const e = centralEntry(b, 'x.json');
        const at = dataStart(b, 'x.json') + e.compressedSize - 1;
        b[at] = b[at]! ^ 0x80;
      });
      expect(await codeOf(extract(bad))).toBe('ARCHIVE_BAD_HMAC');
    });

    it('a flipped ZipCrypto byte gives ARCHIVE_BAD_CRC (store and deflate)', async () => {
      for (const store of [true, false]) {
        const zip = await makeZipCrypto(work, [{ name: 'data.json', data: textData(200_000) }], KEY, { store });
        const bad = await patched(zip, (b) => {
          const at = dataStart(b, 'data.json') + 12 + 5000;
          b[at] = b[at]! ^ 0x01;
        });
        expect(await codeOf(extract(bad))).toBe('ARCHIVE_BAD_CRC');
      }
    });
  });

  describe('each entry\'s own checks', () => {
    const SIX = Array.from({ length: 6 }, (_, i) => ({ name: `f${i}.json`, data: textData(30_000, String(i)) }));

    it('a wrong AES verifier on the sixth entry (past the key pre-check) gives ARCHIVE_WRONG_KEY', async () => {
      const zip = await ours(SIX);
      const bad = await patched(zip, (b) => {
        const at = dataStart(b, 'f5.json') + 16; // the verifier, after the 16-byte salt
        b[at] = b[at]! ^ 0xff;
      });
      expect(await codeOf(extract(bad))).toBe('ARCHIVE_WRONG_KEY');
    });

    it('a flipped ZipCrypto byte in the sixth entry gives ARCHIVE_BAD_CRC', async () => {
      const zip = await makeZipCrypto(work, SIX, KEY);
      const bad = await patched(zip, (b) => {
        const at = dataStart(b, 'f5.json') + 12 + 40;
        b[at] = b[at]! ^ 0x01;
      });
      expect(await codeOf(extract(bad))).toBe('ARCHIVE_BAD_CRC');
    });

    it('a flipped byte in a ZipCrypto entry with a data descriptor (zip -P from stdin) gives ARCHIVE_BAD_CRC', async () => {
      const zip = await makeZipCryptoFromStdin(work, textData(50_000), KEY);
      const bad = await patched(zip, (b) => {
        const at = dataStart(b, '-') + 12 + 100;
        b[at] = b[at]! ^ 0x01;
      });
      expect(await codeOf(extract(bad))).toBe('ARCHIVE_BAD_CRC');
    });

    it('a 200 kB entry declared one byte larger or far smaller than it is: ARCHIVE_SIZE_MISMATCH', async () => {
      const data = textData(200_000);
      const zip = await ours([{ name: 'm.json', data }]);
      expect(await codeOf(extract(await patched(zip, (b) => patchDeclaredSize(b, 'm.json', data.length + 1))))).toBe('ARCHIVE_SIZE_MISMATCH');
      expect(await codeOf(extract(await patched(zip, (b) => patchDeclaredSize(b, 'm.json', 1000))))).toBe('ARCHIVE_SIZE_MISMATCH');
    });

    it('AES-128 and AES-192 entries (7z), a zero-length entry and stored entries extract', async () => {
      const files = [{ name: 'a.json', data: textData(40_000) }, { name: 'z.txt', data: Buffer.alloc(0) }];
      // Written, or kept in memory (then `data` holds the bytes and there is no file).
      const bytesOf = async (res: ExtractResult, out: string, name: string): Promise<Buffer> => {
        const data = res.entries.find((e) => e.path === name)?.data;
        expect(data !== undefined).toBe(mode.over === KEEP_ALL);
        return data ?? readFile(join(out, name));
      };
      for (const bits of [128, 192] as const) {
        const out = dest();
        const res = await extract(await makeAes7z(work, files, KEY, { bits }), {}, out);
        expect((await bytesOf(res, out, 'a.json')).equals(files[0]!.data)).toBe(true);
        expect((await bytesOf(res, out, 'z.txt')).length).toBe(0);
      }
      const out = dest();
      const res = await extract(await makeAes7z(work, files, KEY, { store: true }), {}, out);
      expect((await bytesOf(res, out, 'a.json')).equals(files[0]!.data)).toBe(true);
    });
  });

  describe('structure', () => {
    it('refuses an unencrypted entry (downgrade) with ARCHIVE_NOT_ENCRYPTED', async () => {
      const zip = await makePlainZip(work, THREE);
      expect(await codeOf(extract(zip))).toBe('ARCHIVE_NOT_ENCRYPTED');
      expect(await codeOf(inspectArchive(zip, { allowUnencrypted: false, limits: LIMITS }))).toBe('ARCHIVE_NOT_ENCRYPTED');
    });

    for (const name of ['../x', '/abs', 'C:\\x', 'a/../../x', 'a\\..\\..\\x', 'nul\0byte']) {
      it(`refuses zip slip name ${JSON.stringify(name)} with ARCHIVE_PATH_TRAVERSAL`, async () => {
        const zip = await ours([{ name: 'ok.txt', data: Buffer.from('ok') }, { name, data: Buffer.from('evil') }]);
        const out = dest();
        expect(await codeOf(extract(zip, {}, out))).toBe('ARCHIVE_PATH_TRAVERSAL');
        expect(await exists(out)).toBe(false);
      });
    }

    it('refuses a symbolic link (zip --symlinks) with ARCHIVE_SYMLINK', async () => {
      const zip = await makeSymlinkZip(work, KEY);
      expect(await codeOf(extract(zip))).toBe('ARCHIVE_SYMLINK');
    });

    it('refuses the same name twice, and a file that is also a directory, with ARCHIVE_DUPLICATE_ENTRY', async () => {
      const dup = await ours([{ name: 'a/b.json', data: Buffer.from('1') }, { name: 'a/./b.json', data: Buffer.from('2') }]);
      expect(await codeOf(extract(dup))).toBe('ARCHIVE_DUPLICATE_ENTRY');
      const clash = await ours([{ name: 'a', data: Buffer.from('1') }, { name: 'a/b.json', data: Buffer.from('2') }]);
      expect(await codeOf(extract(clash))).toBe('ARCHIVE_DUPLICATE_ENTRY');
    });

    it('refuses entries sharing data or pointing into another entry with ARCHIVE_OVERLAPPING_ENTRIES', async () => {
      const zip = await ours([{ name: 'first.json', data: textData(50_000) }, { name: 'other.json', data: textData(50_000, 'o') }]);
      const shared = await patched(zip, (b) => {
        const [first, second] = centralEntries(b);
        b.writeUInt32LE(first!.localHeaderOffset, second!.at + 42);
      });
      expect(await codeOf(extract(shared))).toBe('ARCHIVE_OVERLAPPING_ENTRIES');
      const inside = await patched(zip, (b) => {
        const [first, second] = centralEntries(b);
        b.writeUInt32LE(first!.localHeaderOffset + 200, second!.at + 42);
      });
      expect(await codeOf(extract(inside))).toBe('ARCHIVE_OVERLAPPING_ENTRIES');
    });

    it('refuses a compression ratio bomb with ARCHIVE_RATIO_EXCEEDED', async () => {
      const zip = await ours([{ name: 'zeros.bin', data: Buffer.alloc(8 * 1024 * 1024) }]);
      expect(await codeOf(extract(zip))).toBe('ARCHIVE_RATIO_EXCEEDED');
    });

    it('refuses too many entries with ARCHIVE_TOO_MANY_ENTRIES', async () => {
      const zip = await ours(THREE);
      expect(await codeOf(extract(zip, { limits: { ...LIMITS, maxEntries: 2 } }))).toBe('ARCHIVE_TOO_MANY_ENTRIES');
    });

    it('refuses an unsupported compression method with ARCHIVE_UNSUPPORTED', async () => {
      const zip = await makePlainZip(work, [{ name: 'a.json', data: textData(5000) }]);
      const bad = await patched(zip, (b) => {
        const e = centralEntry(b, 'a.json');
        b.writeUInt16LE(12, e.at + 10); // bzip2
        b.writeUInt16LE(12, e.localHeaderOffset + 8);
      });
      expect(await codeOf(extract(bad, { allowUnencrypted: true }))).toBe('ARCHIVE_UNSUPPORTED');
    });

    it('refuses a non-empty destination with ARCHIVE_DEST_NOT_EMPTY', async () => {
      const zip = await ours(THREE);
      const out = dest();
      await mkdir(out);
      await writeFile(join(out, 'stale'), 'x');
      expect(await codeOf(extract(zip, {}, out))).toBe('ARCHIVE_DEST_NOT_EMPTY');
      expect(await readdir(out)).toEqual(['stale']);
    });
  });

  describe('sizes never trusted', () => {
    const big = textData(4 * 1024 * 1024);

    it('declared total above the limit: ARCHIVE_TOO_LARGE before extracting', async () => {
      const zip = await ours([{ name: 'big.json', data: big }]);
      expect(await codeOf(extract(zip, { limits: { ...LIMITS, maxTotalBytes: 1024 * 1024 } }))).toBe('ARCHIVE_TOO_LARGE');
    });

    it('declared small but actual large (patched headers): ARCHIVE_TOO_LARGE while writing', async () => {
      const zip = await ours([{ name: 'big.json', data: big }]);
      const lying = await patched(zip, (b) => patchDeclaredSize(b, 'big.json', 1024 * 1024));
      const out = dest();
      expect(await codeOf(extract(lying, { limits: { ...LIMITS, maxTotalBytes: 1024 * 1024 } }, out))).toBe('ARCHIVE_TOO_LARGE');
      // Writing stopped right after the limit was passed (one inflate chunk at most).
      const written = (await readFile(join(out, 'big.json')).catch(() => Buffer.alloc(0))).length;
      expect(written).toBeLessThanOrEqual(1024 * 1024 + 256 * 1024);
    });

    it('declared size smaller or larger than the content: ARCHIVE_SIZE_MISMATCH', async () => {
      const zip = await ours([{ name: 'big.json', data: big }]);
      const smaller = await patched(zip, (b) => patchDeclaredSize(b, 'big.json', 1000));
      expect(await codeOf(extract(smaller))).toBe('ARCHIVE_SIZE_MISMATCH');
      const larger = await patched(zip, (b) => patchDeclaredSize(b, 'big.json', big.length + 1));
      expect(await codeOf(extract(larger))).toBe('ARCHIVE_SIZE_MISMATCH');
    });
  });

  describe('not a ZIP', () => {
    it('random bytes, an empty file and a truncated archive give ARCHIVE_NOT_ZIP', async () => {
      const junk = join(work, 'junk.zip');
      await writeFile(junk, randomData(4096));
      expect(await codeOf(extract(junk))).toBe('ARCHIVE_NOT_ZIP');
      const empty = join(work, 'empty.zip');
      await writeFile(empty, Buffer.alloc(0));
      expect(await codeOf(extract(empty))).toBe('ARCHIVE_NOT_ZIP');
      const zip = await readFile(await ours(THREE));
      const truncated = join(work, 'truncated.zip');
      await writeFile(truncated, zip.subarray(0, Math.floor(zip.length / 2)));
      expect(await codeOf(extract(truncated))).toBe('ARCHIVE_NOT_ZIP');
      expect(await codeOf(inspectArchive(truncated, { allowUnencrypted: false, limits: LIMITS }))).toBe('ARCHIVE_NOT_ZIP');
    });

    it('a missing file gives NOT_FOUND', async () => {
      expect(await codeOf(extract(join(work, 'nope.zip')))).toBe('NOT_FOUND');
    });
  });
});

describe('small entries, in memory', () => {
  const mid = textData(600 * 1024);

  it('a tampered AES entry is refused before anything is written: no file, not even a partial one', async () => {
    const zip = await ours([{ name: 'x.json', data: textData(200_000) }]);
    const bad = await patched(zip, (b) => {
      const at = dataStart(b, 'x.json') + 16 + 2 + 50;
      b[at] = b[at]! ^ 0x01;
    });
    const out = dest();
    expect(await codeOf(extractWith(bad, {}, out))).toBe('ARCHIVE_BAD_HMAC');
    expect(await exists(join(out, 'x.json'))).toBe(false);
    // Streamed, the plaintext before the MAC check is written (and removed with the directory by the pipeline).
    const streamed = dest();
    expect(await codeOf(extractWith(bad, { inMemoryEntryBytes: 0 }, streamed))).toBe('ARCHIVE_BAD_HMAC');
    expect(await exists(join(streamed, 'x.json'))).toBe(true);
  });

  it('inflates at most one byte past the declared size: ARCHIVE_SIZE_MISMATCH, or ARCHIVE_TOO_LARGE when that passes the budget', async () => {
    const zip = await ours([{ name: 'mid.json', data: mid }]);
    const lying = await patched(zip, (b) => patchDeclaredSize(b, 'mid.json', 1000));
    const out = dest();
    expect(await codeOf(extractWith(lying, {}, out))).toBe('ARCHIVE_SIZE_MISMATCH');
    expect(await exists(join(out, 'mid.json'))).toBe(false);
    // Declared 1000 passes the declared-total check of a 1000-byte budget; the 1001 bytes inflated to see the overrun do not.
    let refusal: unknown;
    await extractWith(lying, { limits: { ...LIMITS, maxTotalBytes: 1000 } }, dest()).catch((err: unknown) => (refusal = err));
    expect((refusal as { code?: string }).code).toBe('ARCHIVE_TOO_LARGE');
    expect((refusal as { details?: Record<string, unknown> }).details).toEqual({ path: 'mid.json', limit: 1000 });
  });

  it('extracts the same bytes whichever way each entry goes (256 KiB by default, up to 1 MiB, every entry streamed, or kept)', async () => {
    const files = [{ name: 'mid.json', data: mid }, { name: 'empty.txt', data: Buffer.alloc(0) }, { name: 'r.bin', data: randomData(70_000) }];
    const zip = await ours(files);
    for (const over of [{}, { inMemoryEntryBytes: 1024 * 1024 }, { inMemoryEntryBytes: 0 }, KEEP_ALL]) {
      const out = dest();
      const res = await extractWith(zip, over, out);
      for (const f of files) {
        const kept = res.entries.find((e) => e.path === f.name)?.data;
        expect(kept !== undefined).toBe(over === KEEP_ALL);
        expect((kept ?? (await readFile(join(out, f.name)))).equals(f.data)).toBe(true);
      }
    }
  });
});
