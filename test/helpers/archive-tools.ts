/**
 * Test helpers that build archives with the real tools (7-Zip, Info-ZIP zip) and patch ZIP bytes to forge bad ones.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface FileSpec {
  /** Relative path with '/' separators. */
  name: string;
  data: Buffer;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function makeTempDir(prefix = 'archive-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes files under a fresh folder in dir; returns that folder. */
async function stage(dir: string, files: readonly FileSpec[]): Promise<string> {
  const src = await mkdtemp(join(dir, 'src-'));
  for (const f of files) {
    const p = join(src, f.name);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, f.data);
  }
  return src;
}

let counter = 0;
function outName(dir: string, tag: string): string {
  counter += 1;
  return join(dir, `${tag}-${process.pid}-${counter}.zip`);
}

/** 7-Zip, WinZip AES (`-mem=AES256` unless `bits` says 128 or 192). `store` uses -mx=0. Returns the archive path. */
export async function makeAes7z(dir: string, files: readonly FileSpec[], key: string, opts: { store?: boolean; bits?: 128 | 192 | 256 } = {}): Promise<string> {
  const src = await stage(dir, files);
  const out = outName(dir, 'aes7z');
  const args = ['a', '-tzip', `-mem=AES${opts.bits ?? 256}`, `-p${key}`, ...(opts.store ? ['-mx=0'] : []), out, ...files.map((f) => f.name)];
  await execFileAsync('7z', args, { cwd: src });
  return out;
}

/** Info-ZIP, traditional ZipCrypto (`zip -P`). `zip64` forces Zip64 records (-fz), `store` uses -0. */
export async function makeZipCrypto(
  dir: string,
  files: readonly FileSpec[],
  key: string,
  opts: { store?: boolean; zip64?: boolean } = {},
): Promise<string> {
  const src = await stage(dir, files);
  const out = outName(dir, 'zipcrypto');
  const args = ['-q', '-P', key, ...(opts.zip64 ? ['-fz'] : []), ...(opts.store ? ['-0'] : []), out, ...files.map((f) => f.name)];
  await execFileAsync('zip', args, { cwd: src });
  return out;
}

/** Info-ZIP without encryption (for downgrade tests). */
export async function makePlainZip(dir: string, files: readonly FileSpec[]): Promise<string> {
  const src = await stage(dir, files);
  const out = outName(dir, 'plain');
  await execFileAsync('zip', ['-q', out, ...files.map((f) => f.name)], { cwd: src });
  return out;
}

/** `zip -P key [-fz] out -` reading stdin: one entry named '-', streamed, so it carries a data descriptor. */
export async function makeZipCryptoFromStdin(dir: string, data: Buffer, key: string, opts: { zip64?: boolean } = {}): Promise<string> {
  const out = outName(dir, 'stdin');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('zip', ['-q', '-P', key, ...(opts.zip64 ? ['-fz'] : []), out, '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`zip exited ${code}: ${stderr}`))));
    child.stdin.end(data);
  });
  return out;
}

/** An archive holding a symbolic link (`zip --symlinks -P`). */
export async function makeSymlinkZip(dir: string, key: string): Promise<string> {
  const src = await stage(dir, [{ name: 'target.txt', data: Buffer.from('hello') }]);
  const { symlink } = await import('node:fs/promises');
  await symlink('/etc/passwd', join(src, 'link'));
  const out = outName(dir, 'symlink');
  await execFileAsync('zip', ['-q', '--symlinks', '-P', key, out, 'target.txt', 'link'], { cwd: src });
  return out;
}

/** Runs `7z t -p<key>`; resolves true when 7-Zip reports everything OK. */
export async function test7z(zipPath: string, key: string): Promise<boolean> {
  try {
    await execFileAsync('7z', ['t', `-p${key}`, zipPath]);
    return true;
  } catch {
    return false;
  }
}

/** Runs `unzip -t -P <key>`; resolves true when unzip reports no errors. */
export async function testUnzip(zipPath: string, key: string): Promise<boolean> {
  try {
    await execFileAsync('unzip', ['-t', '-P', key, zipPath]);
    return true;
  } catch {
    return false;
  }
}

/** Mixed test data: compressible text and incompressible bytes. */
export function textData(bytes: number, seed = 'row'): Buffer {
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = `{"_id":{"$oid":"${i.toString(16).padStart(24, '0')}"},"name":"${seed}-${i}","n":{"$numberLong":"${i * 7}"}}\n`;
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

export function randomData(bytes: number): Buffer {
  return randomBytes(bytes);
}

// ---- byte-level forging ------------------------------------------------------------------------------------------

export interface CentralEntryLocation {
  /** Offset of the central directory header. */
  readonly at: number;
  readonly name: string;
  readonly localHeaderOffset: number;
  readonly compressedSize: number;
  readonly size: number;
}

/** Finds central directory headers by walking from the EOCD (non-Zip64 archives). */
export function centralEntries(zip: Buffer): CentralEntryLocation[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('no EOCD');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out: CentralEntryLocation[] = [];
  for (let i = 0; i < count; i++) {
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    out.push({
      at,
      name: zip.toString('utf8', at + 46, at + 46 + nameLen),
      localHeaderOffset: zip.readUInt32LE(at + 42),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
    });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

export function centralEntry(zip: Buffer, name: string): CentralEntryLocation {
  const e = centralEntries(zip).find((x) => x.name === name);
  if (!e) throw new Error(`no central entry ${name}`);
  return e;
}

/** Sets the declared uncompressed size in both the central and the local header. */
export function patchDeclaredSize(zip: Buffer, name: string, size: number): void {
  const e = centralEntry(zip, name);
  zip.writeUInt32LE(size, e.at + 24);
  zip.writeUInt32LE(size, e.localHeaderOffset + 22);
}

/** Data offset of an entry (from its local header). */
export function dataStart(zip: Buffer, name: string): number {
  const e = centralEntry(zip, name);
  return e.localHeaderOffset + 30 + zip.readUInt16LE(e.localHeaderOffset + 26) + zip.readUInt16LE(e.localHeaderOffset + 28);
}

/** Replaces a name (same length) in both headers. */
export function renameEntry(zip: Buffer, from: string, to: string): void {
  if (Buffer.byteLength(from) !== Buffer.byteLength(to)) throw new Error('rename needs equal lengths');
  const e = centralEntry(zip, from);
  zip.write(to, e.at + 46, 'utf8');
  zip.write(to, e.localHeaderOffset + 30, 'utf8');
}
