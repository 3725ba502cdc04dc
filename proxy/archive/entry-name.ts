/**
 * Entry names as Info-ZIP unzip and 7-Zip read them (APPNOTE 4.4.4 bit 11, 4.6.9 Info-ZIP Unicode Path Extra Field,
 * Appendix D). In this order:
 *
 * 1. the UTF-8 flag (general purpose bit 11): the header name is UTF-8 (and a matching Unicode Path field, below,
 *    must say the same: 7-Zip ignores the field when the flag is set, unzip prefers it, so a disagreement is refused);
 * 2. an Info-ZIP Unicode Path extra field (0x7075, version 1) whose CRC-32 matches the raw header name: its UTF-8
 *    (a field whose CRC does not match was written for another name, e.g. after a rename, and is ignored);
 * 3. a name of ASCII bytes only: ASCII;
 * 4. a header name that is valid UTF-8 (Info-ZIP zip on a UTF-8 system writes such names without the flag);
 * 5. a header name from a DOS/Windows host ("version made by" FAT, HPFS, NTFS, VFAT): IBM code page 437, the
 *    format's historical encoding, as unzip and 7-Zip decode it.
 *
 * Anything else stays ambiguous and is refused with ARCHIVE_NAME_AMBIGUOUS rather than stored under a guessed,
 * possibly garbled name (a file record's `storagePath` would then no longer find it): a UTF-8 flag or Unicode Path
 * field over bytes that are not UTF-8, or non-UTF-8 bytes from a Unix (or other) host, which carry the writer's
 * locale (Latin-1, Shift-JIS, ...) and no way to tell which.
 */
import { crc32 } from 'node:zlib';
import { ProxyError } from '../errors.js';

export const FLAG_UTF8_NAME = 0x0800;
export const EXTRA_UNICODE_PATH = 0x7075;

/** "Version made by" host numbers whose names are CP437 when not UTF-8 (APPNOTE 4.4.2.2). */
const CP437_HOSTS: ReadonlySet<number> = new Set([0 /* MS-DOS, OS/2 FAT */, 6 /* OS/2 HPFS */, 10 /* Windows NTFS */, 14 /* VFAT */]);

/** IBM code page 437, bytes 0x80..0xFF (bytes below 0x80 are ASCII in file names). */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface RawEntryName {
  /** The name bytes of the central directory header. */
  readonly raw: Buffer;
  readonly generalPurposeBitFlag: number;
  readonly versionMadeBy: number;
  readonly extraFields: readonly { readonly id: number; readonly data: Buffer }[];
}

/** How a name was decoded (for logs and tests). */
export type NameSource = 'unicode-path-field' | 'utf8-flag' | 'ascii' | 'utf8' | 'cp437';

/** The UTF-8 text of bytes, or undefined when they are not valid UTF-8. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function decodeCp437(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80]!;
  return out;
}

function isAscii(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b >= 0x80) return false;
  return true;
}

/** A printable form of raw name bytes for error details: ASCII kept, everything else as \xHH. */
export function escapedName(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

function ambiguous(raw: Buffer, why: string): ProxyError {
  const name = escapedName(raw);
  return new ProxyError('ARCHIVE_NAME_AMBIGUOUS', `${name}: ${why}`, { details: { name, reason: why } });
}

/** The Unicode Path field's name when the field is there, is version 1 and its CRC-32 matches the header name. */
function unicodePathField(e: RawEntryName): { bytes: Buffer } | undefined {
  for (const f of e.extraFields) {
    if (f.id !== EXTRA_UNICODE_PATH || f.data.length < 5 || f.data[0] !== 1) continue;
    if (f.data.readUInt32LE(1) !== crc32(e.raw) >>> 0) continue; // stale: written for another header name
    return { bytes: f.data.subarray(5) };
  }
  return undefined;
}

/** Decodes one entry name as described above; throws ARCHIVE_NAME_AMBIGUOUS when that is not possible. */
export function decodeEntryName(e: RawEntryName): { name: string; source: NameSource } {
  const field = unicodePathField(e);
  const fieldName = field ? utf8OrUndefined(field.bytes) : undefined;
  if (field && fieldName === undefined) throw ambiguous(e.raw, 'its Unicode Path extra field (0x7075) is not valid UTF-8');
  if (e.generalPurposeBitFlag & FLAG_UTF8_NAME) {
    const name = utf8OrUndefined(e.raw);
    if (name === undefined) throw ambiguous(e.raw, 'the UTF-8 flag is set but the name is not valid UTF-8');
    // 7-Zip ignores the 0x7075 field when the flag is set, Info-ZIP unzip prefers it: when they name the entry
    // differently, the two tools would show different files, so the name is refused rather than guessed.
    if (fieldName !== undefined && fieldName !== name) throw ambiguous(e.raw, 'the UTF-8 flag and its Unicode Path extra field (0x7075) name it differently');
    return { name, source: 'utf8-flag' };
  }
  if (fieldName !== undefined) return { name: fieldName, source: 'unicode-path-field' };
  if (isAscii(e.raw)) return { name: e.raw.toString('latin1'), source: 'ascii' };
  const utf8 = utf8OrUndefined(e.raw);
  if (utf8 !== undefined) return { name: utf8, source: 'utf8' };
  const host = e.versionMadeBy >>> 8;
  if (CP437_HOSTS.has(host)) return { name: decodeCp437(e.raw), source: 'cp437' };
  throw ambiguous(e.raw, `not UTF-8, no UTF-8 flag or Unicode Path field, and made on host ${host}, whose encoding is the writer's locale`);
}
