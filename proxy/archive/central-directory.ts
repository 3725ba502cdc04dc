/**
 * Reads the central directory with yauzl (EOCD, Zip64 records, extra fields, name decoding) and the local headers with
 * plain positional reads, applying every structural rule before a single byte is extracted.
 */
import type { FileHandle } from 'node:fs/promises';
import yauzl from 'yauzl';
import { ProxyError, isProxyError } from '../errors.js';
import { decodeEntryName } from './entry-name.js';
import { NameRegistry, checkNoOverlap, isSymlinkAttributes, normalizeEntryName, type EntryRange } from './entry-rules.js';
import {
  EXTRA_AES,
  FLAG_DATA_DESCRIPTOR,
  FLAG_ENCRYPTED,
  FLAG_STRONG_ENCRYPTION,
  LOCAL_HEADER_FIXED,
  METHOD_AES,
  METHOD_DEFLATE,
  METHOD_STORE,
  SIG_LOCAL_HEADER,
  parseAesExtra,
  type AesExtra,
} from './zip-format.js';

export type EntryEncryption = 'aes-128' | 'aes-192' | 'aes-256' | 'zipcrypto' | 'none';

export interface LimitsForInspection {
  maxEntries: number;
  maxTotalBytes: number;
  maxEntryRatio: number;
}

/** Everything the extractor needs about one entry, after validation. */
export interface ZipEntryInfo {
  readonly path: string;
  readonly isDirectory: boolean;
  readonly encryption: EntryEncryption;
  /** Method of the plaintext: 0 store, 8 deflate (for AES: the method from the 0x9901 field). */
  readonly dataMethod: number;
  readonly aes: AesExtra | undefined;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
  /** Filled by readLocalHeaders. */
  dataStart: number;
  /** General purpose flags and DOS time from the LOCAL header (ZipCrypto's check byte depends on them). */
  localFlags: number;
  localDosTime: number;
  readonly rawName: Buffer;
}

/** An entry as extraction needs it (what crosses to an extraction worker thread). */
export type EntryLayout = Omit<ZipEntryInfo, 'rawName'>;

export interface CentralDirectory {
  readonly entries: ZipEntryInfo[];
  readonly centralDirectoryOffset: number;
  readonly fileSize: number;
}

const ONE_MIB = 1024 * 1024;

/** Maps anything yauzl throws to our codes; never lets a raw yauzl Error out. */
export function mapContainerError(err: unknown): ProxyError {
  if (isProxyError(err)) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (/strong encryption|multi-disk|unsupported compression/i.test(msg)) return new ProxyError('ARCHIVE_UNSUPPORTED', msg, { cause: err });
  if (/invalid characters in fileName|absolute path|invalid relative path/i.test(msg)) return new ProxyError('ARCHIVE_PATH_TRAVERSAL', msg, { cause: err });
  return new ProxyError('ARCHIVE_NOT_ZIP', msg, { cause: err });
}

function openZip(fd: number): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromFd(fd, { autoClose: false, lazyEntries: true, decodeStrings: false, validateEntrySizes: false }, (err, zip) => {
      if (err) reject(mapContainerError(err));
      else resolve(zip);
    });
  });
}

/** yauzl keeps the central directory offset only as its initial read cursor. */
function centralDirectoryOffsetOf(zip: yauzl.ZipFile): number {
  const cursor: unknown = (zip as unknown as { readEntryCursor: unknown }).readEntryCursor;
  if (typeof cursor !== 'number') throw new ProxyError('INTERNAL', 'yauzl did not expose the central directory offset');
  return cursor;
}

function classify(entry: yauzl.Entry, path: string): Pick<ZipEntryInfo, 'encryption' | 'dataMethod' | 'aes'> {
  const flags = entry.generalPurposeBitFlag;
  if (flags & FLAG_STRONG_ENCRYPTION) throw new ProxyError('ARCHIVE_UNSUPPORTED', `strong encryption: ${path}`);
  const encrypted = (flags & FLAG_ENCRYPTED) !== 0;
  if (entry.compressionMethod === METHOD_AES) {
    const field = entry.extraFields.find((f) => f.id === EXTRA_AES);
    const aes = field ? parseAesExtra(field.data) : undefined;
    if (!encrypted || !aes) throw new ProxyError('ARCHIVE_UNSUPPORTED', `method 99 without a valid AES extra field: ${path}`);
    if (aes.method !== METHOD_STORE && aes.method !== METHOD_DEFLATE) {
      throw new ProxyError('ARCHIVE_UNSUPPORTED', `compression method ${aes.method}: ${path}`);
    }
    const encryption = aes.strength === 1 ? 'aes-128' : aes.strength === 2 ? 'aes-192' : 'aes-256';
    return { encryption, dataMethod: aes.method, aes };
  }
  if (entry.compressionMethod !== METHOD_STORE && entry.compressionMethod !== METHOD_DEFLATE) {
    throw new ProxyError('ARCHIVE_UNSUPPORTED', `compression method ${entry.compressionMethod}: ${path}`);
  }
  return { encryption: encrypted ? 'zipcrypto' : 'none', dataMethod: entry.compressionMethod, aes: undefined };
}

async function readAllEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  const out: yauzl.Entry[] = [];
  try {
    for await (const entry of zip.eachEntry()) out.push(entry);
  } catch (err) {
    throw mapContainerError(err);
  }
  return out;
}

/**
 * Reads and validates the central directory: entry count, names, symlinks, duplicates, methods, encryption,
 * declared sizes and ratios. Does not read local headers (see readLocalHeaders).
 */
export async function readCentralDirectory(
  fh: FileHandle,
  opts: { allowUnencrypted: boolean; limits: LimitsForInspection },
): Promise<CentralDirectory> {
  const zip = await openZip(fh.fd);
  try {
    const { limits } = opts;
    if (zip.entryCount > limits.maxEntries) {
      throw new ProxyError('ARCHIVE_TOO_MANY_ENTRIES', `${zip.entryCount} > ${limits.maxEntries}`, { details: { entries: zip.entryCount, limit: limits.maxEntries } });
    }
    const centralDirectoryOffset = centralDirectoryOffsetOf(zip);
    const rawEntries = await readAllEntries(zip);
    const names = new NameRegistry();
    const entries: ZipEntryInfo[] = [];
    let declaredTotal = 0;
    for (const e of rawEntries) {
      const { name: decoded } = decodeEntryName({
        raw: e.fileNameRaw, generalPurposeBitFlag: e.generalPurposeBitFlag, versionMadeBy: e.versionMadeBy, extraFields: e.extraFields,
      });
      const { path, isDirectory } = normalizeEntryName(decoded);
      if (isSymlinkAttributes(e.externalFileAttributes)) throw new ProxyError('ARCHIVE_SYMLINK', path, { details: { path } });
      names.add({ path, isDirectory });
      const kind = classify(e, path);
      if (!isDirectory && kind.encryption === 'none' && !opts.allowUnencrypted) {
        throw new ProxyError('ARCHIVE_NOT_ENCRYPTED', path, { details: { path } });
      }
      if (e.uncompressedSize > ONE_MIB && e.uncompressedSize / Math.max(e.compressedSize, 1) > limits.maxEntryRatio) {
        throw new ProxyError('ARCHIVE_RATIO_EXCEEDED', path, {
          details: { path, compressedSize: e.compressedSize, size: e.uncompressedSize, limit: limits.maxEntryRatio },
        });
      }
      declaredTotal += e.uncompressedSize;
      if (declaredTotal > limits.maxTotalBytes) {
        throw new ProxyError('ARCHIVE_TOO_LARGE', `declared ${declaredTotal} > ${limits.maxTotalBytes}`, { details: { declared: declaredTotal, limit: limits.maxTotalBytes } });
      }
      entries.push({
        path,
        isDirectory,
        ...kind,
        crc32: e.crc32,
        compressedSize: e.compressedSize,
        uncompressedSize: e.uncompressedSize,
        localHeaderOffset: e.relativeOffsetOfLocalHeader,
        dataStart: -1,
        localFlags: 0,
        localDosTime: 0,
        rawName: Buffer.from(e.fileNameRaw),
      });
    }
    return { entries, centralDirectoryOffset, fileSize: zip.fileSize };
  } finally {
    // No zip.close(): yauzl would close the descriptor, which belongs to the caller's FileHandle.
    zip.removeAllListeners();
  }
}

/** Positional reads of the archive: a FileHandle, or (in an extraction worker) the same descriptor through fs.read. */
export interface PositionalReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/** Reads exactly `length` bytes at `position` or fails with ARCHIVE_NOT_ZIP (truncated archive). */
export async function readExactly(fh: PositionalReader, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  await readExactlyInto(fh, buf, 0, length, position);
  return buf;
}

/** readExactly into `buf` at `offset`. */
export async function readExactlyInto(fh: PositionalReader, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, offset + done, length - done, position + done);
    if (bytesRead === 0) throw new ProxyError('ARCHIVE_NOT_ZIP', `unexpected end of archive at ${position + done}`);
    done += bytesRead;
  }
}

/**
 * Reads every local header (signature, name, lengths, flags, time), sets dataStart, and checks that no two entries'
 * [local header .. end of data] ranges intersect and that no data runs into the central directory.
 */
export async function readLocalHeaders(fh: FileHandle, cd: CentralDirectory): Promise<void> {
  const ranges: EntryRange[] = [];
  let mismatched: string | undefined;
  let badSignature: string | undefined;
  for (const e of cd.entries) {
    if (e.localHeaderOffset + LOCAL_HEADER_FIXED > cd.centralDirectoryOffset) {
      throw new ProxyError('ARCHIVE_OVERLAPPING_ENTRIES', `${e.path} has its local header inside the central directory`, { details: { entry: e.path } });
    }
    const fixed = await readExactly(fh, LOCAL_HEADER_FIXED, e.localHeaderOffset);
    if (fixed.readUInt32LE(0) !== SIG_LOCAL_HEADER) {
      // Often a central entry pointing into another entry's data: report that as an overlap if it is one.
      badSignature ??= e.path;
      ranges.push({ name: e.path || '/', start: e.localHeaderOffset, end: e.localHeaderOffset + LOCAL_HEADER_FIXED });
      continue;
    }
    const nameLength = fixed.readUInt16LE(26);
    const extraLength = fixed.readUInt16LE(28);
    const localName = await readExactly(fh, nameLength, e.localHeaderOffset + LOCAL_HEADER_FIXED);
    if (!localName.equals(e.rawName)) mismatched ??= e.path;
    e.localFlags = fixed.readUInt16LE(6);
    e.localDosTime = fixed.readUInt16LE(10);
    e.dataStart = e.localHeaderOffset + LOCAL_HEADER_FIXED + nameLength + extraLength;
    ranges.push({ name: e.path || '/', start: e.localHeaderOffset, end: e.dataStart + e.compressedSize });
  }
  checkNoOverlap(ranges, cd.centralDirectoryOffset);
  // After the overlap check: two central entries sharing one local header is an overlap, not a naming problem.
  if (badSignature !== undefined) {
    throw new ProxyError('ARCHIVE_NOT_ZIP', `bad local header signature for ${badSignature}`, { details: { entry: badSignature } });
  }
  if (mismatched !== undefined) {
    throw new ProxyError('ARCHIVE_NOT_ZIP', `local and central names differ for ${mismatched}`, { details: { entry: mismatched } });
  }
}

export function hasDataDescriptor(e: EntryLayout): boolean {
  return (e.localFlags & FLAG_DATA_DESCRIPTOR) !== 0;
}
