/**
 * ZIP container constants and small helpers shared by the reader and the writer (PKWARE APPNOTE 6.3.x,
 * WinZip AE-1/AE-2 extra field 0x9901).
 */

export const SIG_LOCAL_HEADER = 0x04034b50;
export const SIG_CENTRAL_HEADER = 0x02014b50;
export const SIG_DATA_DESCRIPTOR = 0x08074b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_ZIP64_EOCD = 0x06064b50;
export const SIG_ZIP64_LOCATOR = 0x07064b50;

export const LOCAL_HEADER_FIXED = 30;
export const CENTRAL_HEADER_FIXED = 46;

export const FLAG_ENCRYPTED = 0x0001;
export const FLAG_DATA_DESCRIPTOR = 0x0008;
export const FLAG_STRONG_ENCRYPTION = 0x0040;
export const FLAG_UTF8 = 0x0800;

export const METHOD_STORE = 0;
export const METHOD_DEFLATE = 8;
export const METHOD_AES = 99;

export const EXTRA_ZIP64 = 0x0001;
export const EXTRA_AES = 0x9901;

export const MAX_UINT32 = 0xffffffff;
export const MAX_UINT16 = 0xffff;

/** Unix file type bits in the high 16 bits of the external attributes. */
export const S_IFMT = 0o170000;
export const S_IFLNK = 0o120000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;

export type AesStrength = 1 | 2 | 3;

export interface AesExtra {
  /** 1 = AE-1 (CRC checked), 2 = AE-2 (CRC field is 0). */
  readonly vendorVersion: 1 | 2;
  readonly strength: AesStrength;
  /** The real compression method of the plaintext (0 or 8). */
  readonly method: number;
}

/** Key length in bytes for strength 1/2/3 (AES-128/192/256); the salt is half of it. */
export function aesKeyLength(strength: AesStrength): 16 | 24 | 32 {
  switch (strength) {
    case 1:
      return 16;
    case 2:
      return 24;
    case 3:
      return 32;
  }
}

/** Parses the 0x9901 extra field data (7 bytes); undefined when it is malformed. */
export function parseAesExtra(data: Buffer): AesExtra | undefined {
  if (data.length < 7) return undefined;
  const vendorVersion = data.readUInt16LE(0);
  const vendorId = data.toString('latin1', 2, 4);
  const strength = data.readUInt8(4);
  const method = data.readUInt16LE(5);
  if (vendorId !== 'AE') return undefined;
  if (vendorVersion !== 1 && vendorVersion !== 2) return undefined;
  if (strength !== 1 && strength !== 2 && strength !== 3) return undefined;
  return { vendorVersion, strength, method };
}

export function buildAesExtra(vendorVersion: 1 | 2, strength: AesStrength, method: number): Buffer {
  const b = Buffer.alloc(11);
  b.writeUInt16LE(EXTRA_AES, 0);
  b.writeUInt16LE(7, 2);
  b.writeUInt16LE(vendorVersion, 4);
  b.write('AE', 6, 'latin1');
  b.writeUInt8(strength, 8);
  b.writeUInt16LE(method, 9);
  return b;
}

export interface ExtraFieldRecord {
  readonly id: number;
  readonly data: Buffer;
}

/** Lenient extra field walk (stops at a truncated trailing record instead of throwing). */
export function walkExtraFields(raw: Buffer): ExtraFieldRecord[] {
  const out: ExtraFieldRecord[] = [];
  let i = 0;
  while (i + 4 <= raw.length) {
    const id = raw.readUInt16LE(i);
    const size = raw.readUInt16LE(i + 2);
    const end = i + 4 + size;
    if (end > raw.length) break;
    out.push({ id, data: raw.subarray(i + 4, end) });
    i = end;
  }
  return out;
}

/** MS-DOS date/time (local fields taken from the Date in UTC, as the project runs in UTC). */
export function toDosDateTime(d: Date): { date: number; time: number } {
  const year = Math.min(Math.max(d.getUTCFullYear(), 1980), 2107);
  const date = ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2);
  return { date, time };
}

export function writeUInt64LE(buf: Buffer, value: number, offset: number): void {
  buf.writeBigUInt64LE(BigInt(value), offset);
}
