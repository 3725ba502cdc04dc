/**
 * Entry names are read as Info-ZIP unzip and 7-Zip read them (issue 11, item 6): archives from the real `zip` (no
 * UTF-8 flag, under a UTF-8 and under the C locale) and `7z` (UTF-8 flag), forged Unicode Path fields (0x7075) and
 * DOS-host CP437 names; names that stay ambiguous are refused with ARCHIVE_NAME_AMBIGUOUS, never stored garbled.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCp437, decodeEntryName } from '../../../proxy/archive/entry-name.js';
import { extractArchive, inspectArchive, type ExtractLimits } from '../../../proxy/archive/extract.js';
import type { ErrorCode } from '../../../proxy/errors.js';
import { makeTempDir } from '../../helpers/archive-tools.js';

const run = promisify(execFile);
const KEY = 'Archive-Key-123!';
const LIMITS: ExtractLimits = { maxEntries: 1000, maxTotalBytes: 1024 ** 3, maxEntryRatio: 200 };
const NAME = 'data-retention/room-file/café-報告 ✓.pdf';
const CONTENT = Buffer.from('%PDF-1.4 non-ASCII name\n');

let work: string;
let n = 0;
beforeAll(async () => {
  work = await makeTempDir('entry-names-');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A fresh tree holding `files` (names given as raw bytes, so any encoding can be put on disk). */
async function tree(files: { name: Buffer; data: Buffer }[]): Promise<string> {
  const src = await mkdtemp(join(work, 'src-'));
  for (const f of files) {
    const parts = f.name.toString('latin1').split('/');
    let dir = Buffer.from(src);
    for (const p of parts.slice(0, -1)) {
      dir = Buffer.concat([dir, Buffer.from('/'), Buffer.from(p, 'latin1')]);
      await mkdir(dir, { recursive: true });
    }
    await writeFile(Buffer.concat([Buffer.from(src + '/'), f.name]), f.data);
  }
  return src;
}

/** Info-ZIP `zip -r -P` of a tree in the given locale. */
async function infoZip(src: string, locale: string): Promise<string> {
  const out = join(work, `zip-${++n}.zip`);
  await run('zip', ['-q', '-r', '-P', KEY, out, '.'], { cwd: src, env: { ...process.env, LANG: locale, LC_ALL: locale } });
  return out;
}

async function sevenZip(src: string): Promise<string> {
  const out = join(work, `7z-${++n}.zip`);
  await run('7z', ['a', '-tzip', '-mem=AES256', `-p${KEY}`, out, '.'], { cwd: src, env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } });
  return out;
}

/** `unzip -Z1`: the names as Info-ZIP unzip lists them (UTF-8 terminal), directories left out. */
async function unzipNames(zip: string): Promise<string[]> {
  const { stdout } = await run('unzip', ['-Z1', zip], { env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } });
  return stdout.split('\n').filter((l) => l !== '' && !l.endsWith('/')).sort();
}

interface Central { at: number; nameLength: number; extraLength: number; commentLength: number; raw: Buffer }

/** Central directory headers of a small (non-Zip64) archive. */
function centrals(zip: Buffer): { eocd: number; entries: Central[] } {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = zip.readUInt32LE(eocd + 16);
  const entries: Central[] = [];
  for (let i = 0; i < zip.readUInt16LE(eocd + 10); i++) {
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({ at, nameLength, extraLength, commentLength, raw: zip.subarray(at + 46, at + 46 + nameLength) });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return { eocd, entries };
}

function centralOf(zip: Buffer, raw: Buffer): Central {
  const e = centrals(zip).entries.find((c) => c.raw.equals(raw));
  if (!e) throw new Error(`no central entry ${raw.toString('latin1')}`);
  return e;
}

/** Appends an Info-ZIP Unicode Path extra field (0x7075, version 1) to one central header. */
function withUnicodePath(zip: Buffer, raw: Buffer, utf8: Buffer, crc = crc32(raw)): Buffer {
  const c = centralOf(zip, raw);
  const field = Buffer.alloc(9 + utf8.length);
  field.writeUInt16LE(0x7075, 0);
  field.writeUInt16LE(5 + utf8.length, 2);
  field.writeUInt8(1, 4);
  field.writeUInt32LE(crc >>> 0, 5);
  utf8.copy(field, 9);
  const extraEnd = c.at + 46 + c.nameLength + c.extraLength;
  const out = Buffer.concat([zip.subarray(0, extraEnd), field, zip.subarray(extraEnd)]);
  out.writeUInt16LE(c.extraLength + field.length, c.at + 30);
  const { eocd } = centrals(out);
  out.writeUInt32LE(out.readUInt32LE(eocd + 12) + field.length, eocd + 12);
  return out;
}

async function save(buf: Buffer): Promise<string> {
  const path = join(work, `forged-${++n}.zip`);
  await writeFile(path, buf);
  return path;
}

async function names(zip: string): Promise<string[]> {
  const { entries } = await inspectArchive(zip, { allowUnencrypted: false, limits: LIMITS });
  return entries.map((e) => e.path).sort();
}

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | 'resolved'> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return (err as { code: ErrorCode }).code;
  }
}

/** Extracts and reads the file back by the decoded name: the path a file record's storagePath gives. */
async function readBack(zip: string, path: string): Promise<Buffer> {
  const dest = join(work, `out-${++n}`);
  const result = await extractArchive(zip, dest, { password: KEY, allowUnencrypted: false, limits: LIMITS });
  expect(result.entries.map((e) => e.path)).toContain(path);
  return readFile(join(dest, ...path.split('/')));
}

const utf8Tree = (): Promise<string> => tree([{ name: Buffer.from(NAME), data: CONTENT }, { name: Buffer.from('plain.txt'), data: Buffer.from('x') }]);

describe('names from the real tools', () => {
  for (const locale of ['C.UTF-8', 'C']) {
    it(`Info-ZIP zip under LANG=${locale} (UTF-8 bytes, no UTF-8 flag): the name unzip -l shows, and the file is found by it`, async () => {
      const zip = await infoZip(await utf8Tree(), locale);
      const c = centralOf(await readFile(zip), Buffer.from(NAME));
      expect((await readFile(zip)).readUInt16LE(c.at + 8) & 0x0800).toBe(0); // the case of the issue: no flag
      expect(await names(zip)).toEqual([NAME, 'plain.txt']);
      expect(await names(zip)).toEqual(await unzipNames(zip));
      expect((await readBack(zip, NAME)).equals(CONTENT)).toBe(true);
    });
  }

  it('7z (WinZip AES, UTF-8 flag): the name 7z and unzip show', async () => {
    const zip = await sevenZip(await utf8Tree());
    expect(await names(zip)).toEqual([NAME, 'plain.txt']);
    expect(await names(zip)).toEqual(await unzipNames(zip));
    expect((await readBack(zip, NAME)).equals(CONTENT)).toBe(true);
  });

  it('Info-ZIP zip of a Latin-1 file name on Unix (no flag, not UTF-8): ARCHIVE_NAME_AMBIGUOUS, nothing extracted', async () => {
    const zip = await infoZip(await tree([{ name: Buffer.from('caf\xe9.txt', 'latin1'), data: Buffer.from('x') }]), 'C');
    expect(await codeOf(names(zip))).toBe('ARCHIVE_NAME_AMBIGUOUS');
    expect(await codeOf(extractArchive(zip, join(work, `out-${++n}`), { password: KEY, allowUnencrypted: false, limits: LIMITS }))).toBe('ARCHIVE_NAME_AMBIGUOUS');
  });

  it('two names that differ only in Unicode normalization (NFC and NFD) are duplicates', async () => {
    const nfc = 'café.txt'.normalize('NFC');
    const nfd = 'café.txt'.normalize('NFD');
    const zip = await infoZip(await tree([{ name: Buffer.from(nfc), data: Buffer.from('1') }, { name: Buffer.from(nfd), data: Buffer.from('2') }]), 'C.UTF-8');
    expect(await codeOf(names(zip))).toBe('ARCHIVE_DUPLICATE_ENTRY');
  });
});

describe('Unicode Path extra field (0x7075) and CP437', () => {
  const LATIN1 = Buffer.from('caf\xe9.txt', 'latin1');
  const latin1Zip = async (): Promise<Buffer> => readFile(await infoZip(await tree([{ name: LATIN1, data: Buffer.from('latte') }]), 'C'));

  it('a field whose CRC-32 matches the header name gives the name (as unzip -l shows it)', async () => {
    const zip = await save(withUnicodePath(await latin1Zip(), LATIN1, Buffer.from('café.txt')));
    expect(await names(zip)).toEqual(['café.txt']);
    expect(await unzipNames(zip)).toEqual(['café.txt']);
    expect((await readBack(zip, 'café.txt')).toString()).toBe('latte');
  });

  it('a field whose CRC-32 does not match is ignored (and the header name, not UTF-8 from Unix, stays ambiguous)', async () => {
    const stale = await save(withUnicodePath(await latin1Zip(), LATIN1, Buffer.from('other.txt'), crc32(Buffer.from('renamed'))));
    expect(await codeOf(names(stale))).toBe('ARCHIVE_NAME_AMBIGUOUS');
    const ascii = Buffer.from('plain.txt');
    const plain = await readFile(await infoZip(await tree([{ name: ascii, data: Buffer.from('x') }]), 'C'));
    expect(await names(await save(withUnicodePath(plain, ascii, Buffer.from('spoofed.txt'), 1234)))).toEqual(['plain.txt']);
  });

  it('a matching field that is not UTF-8, or the UTF-8 flag over bytes that are not UTF-8: ARCHIVE_NAME_AMBIGUOUS', async () => {
    expect(await codeOf(names(await save(withUnicodePath(await latin1Zip(), LATIN1, Buffer.from([0x63, 0xff, 0x2e])))))).toBe('ARCHIVE_NAME_AMBIGUOUS');
    const flagged = await latin1Zip();
    const c = centralOf(flagged, LATIN1);
    flagged.writeUInt16LE(flagged.readUInt16LE(c.at + 8) | 0x0800, c.at + 8);
    expect(await codeOf(names(await save(flagged)))).toBe('ARCHIVE_NAME_AMBIGUOUS');
  });

  it('a non-UTF-8 name made on a DOS/Windows host is CP437, as unzip decodes it', async () => {
    const raw = Buffer.from([0x63, 0x61, 0x66, 0x82, 0x2e, 0x74, 0x78, 0x74]); // "caf" + CP437 é + ".txt"
    const zip = await readFile(await infoZip(await tree([{ name: raw, data: Buffer.from('dos') }]), 'C'));
    expect(await codeOf(names(await save(zip)))).toBe('ARCHIVE_NAME_AMBIGUOUS'); // made on Unix: no way to know
    zip.writeUInt8(0, centralOf(zip, raw).at + 5); // "version made by": MS-DOS
    const dos = await save(zip);
    expect(await names(dos)).toEqual(['café.txt']);
    expect((await readBack(dos, 'café.txt')).toString()).toBe('dos');
  });
});

describe('decodeEntryName', () => {
  const base = { generalPurposeBitFlag: 0, versionMadeBy: 3 << 8, extraFields: [] };
  it('decodes in the documented order and says how', () => {
    expect(decodeEntryName({ ...base, raw: Buffer.from('a/b.json') })).toEqual({ name: 'a/b.json', source: 'ascii' });
    expect(decodeEntryName({ ...base, raw: Buffer.from('ü.json') })).toEqual({ name: 'ü.json', source: 'utf8' });
    expect(decodeEntryName({ ...base, generalPurposeBitFlag: 0x800, raw: Buffer.from('ü') })).toEqual({ name: 'ü', source: 'utf8-flag' });
    expect(decodeEntryName({ ...base, versionMadeBy: 10 << 8, raw: Buffer.from([0x81]) })).toEqual({ name: 'ü', source: 'cp437' });
  });
  it('the UTF-8 flag and a matching Unicode Path field that name the entry differently: ARCHIVE_NAME_AMBIGUOUS (7z and unzip would disagree)', () => {
    const raw = Buffer.from('a.txt');
    const field = (name: string): { id: number; data: Buffer } => {
      const data = Buffer.alloc(5);
      data.writeUInt8(1, 0);
      data.writeUInt32LE(crc32(raw) >>> 0, 1);
      return { id: 0x7075, data: Buffer.concat([data, Buffer.from(name)]) };
    };
    const flagged = { ...base, generalPurposeBitFlag: 0x800, raw };
    let code: unknown;
    try {
      decodeEntryName({ ...flagged, extraFields: [field('../b.txt')] });
    } catch (err) {
      code = (err as { code?: unknown }).code;
    }
    expect(code).toBe('ARCHIVE_NAME_AMBIGUOUS');
    expect(decodeEntryName({ ...flagged, extraFields: [field('a.txt')] })).toEqual({ name: 'a.txt', source: 'utf8-flag' });
    expect(decodeEntryName({ ...base, raw, extraFields: [field('ä.txt')] })).toEqual({ name: 'ä.txt', source: 'unicode-path-field' });
  });
  it('CP437 covers every high byte', () => {
    const all = decodeCp437(Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i)));
    expect([...all]).toHaveLength(128);
    expect(all.startsWith('Çüé')).toBe(true);
    expect(all.endsWith('■\u00a0')).toBe(true);
  });
});
