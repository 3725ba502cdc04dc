/**
 * Small entries are extracted in memory: one read of the entry's stored bytes, the key check, the MAC (WinZip AES)
 * checked over the whole ciphertext BEFORE anything is decrypted or inflated, decryption in place, one bounded inflate,
 * size and CRC-32 checked, one write. Same checks and error codes as the streaming path (entry-file.ts), in the same
 * order of precedence (a MAC failure wins over what a tampered ciphertext would cause downstream), with about half the
 * system calls and none of the per-entry stream objects: a day's archive holds thousands of entries of a few KiB, for
 * which the streams' fixed cost was most of the extraction besides the key derivation.
 *
 * Memory, per entry in flight: its stored bytes (at most `limit`), inflate's output, capped at the declared size + 1
 * (at most `limit` + 1, plus one 16 KiB chunk and the copy that joins the chunks: an entry that lies about its size
 * cannot make it hold more), and for AES 64 KiB of counter blocks and keystream. About 3 x `limit` at the most.
 *
 * A kept entry (`keep`, ExtractOptions.keepInMemory) is not written at all: its verified plaintext is returned, in a
 * buffer of its own, for the import to read instead of a file.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { crc32, inflateRaw } from 'node:zlib';
import { ProxyError } from '../errors.js';
import { readExactlyInto, type EntryLayout, type PositionalReader } from './central-directory.js';
import { mapEntryError, prepareDecryption } from './entry-decoder.js';
import type { EntryFileContext, EntryFileResult } from './entry-file.js';
import { chargeBudget, checkComplete, moreThanDeclared, plaintextExpectations } from './plaintext-verifier.js';
import { AES_MAC_LENGTH, AES_VERIFIER_LENGTH, AesCtrLittleEndian, aesSaltLength } from './winzip-aes.js';
import { METHOD_DEFLATE } from './zip-format.js';

/** Default: entries up to 256 KiB stored and 256 KiB expanded go the in-memory way. */
export const SMALL_ENTRY_BYTES = 256 * 1024;
/** Most the in-memory way takes (ExtractOptions.inMemoryEntryBytes). */
export const MAX_SMALL_ENTRY_BYTES = 1024 * 1024;

const inflateRawAsync = promisify(inflateRaw);

export function isSmallEntry(e: EntryLayout, limit: number): boolean {
  return limit > 0 && e.compressedSize <= limit && e.uncompressedSize <= limit;
}

/** `keep`: the verified plaintext is returned in `data` and no file is written. */
export async function extractSmallEntry(ctx: EntryFileContext, e: EntryLayout, target: string, keep = false): Promise<EntryFileResult> {
  ctx.signal?.throwIfAborted();
  try {
    // An AES ciphertext starts 10, 14 or 18 bytes in (salt, verifier): read a few bytes further into the buffer so that
    // it starts on a 4-byte boundary, which speeds up the keystream's XOR (word-wise instead of byte by byte).
    const buffer = Buffer.alloc(3 + e.compressedSize);
    const lead = e.aes ? (4 - ((buffer.byteOffset + aesSaltLength(e.aes.strength) + AES_VERIFIER_LENGTH) % 4)) % 4 : 0;
    const stored = buffer.subarray(lead, lead + e.compressedSize);
    await readExactlyInto(ctx.reader, stored, 0, e.compressedSize, e.dataStart);
    // The key check reads salt, verifier and MAC (or the ZipCrypto header) from the bytes just read.
    const prep = await prepareDecryption(memoryReader(stored, e.dataStart), e, ctx.password);
    const payload = stored.subarray(prep.start - e.dataStart, prep.end - e.dataStart);
    if (prep.kind === 'aes') {
      const mac = createHmac('sha1', prep.keys.hmacKey).update(payload).digest().subarray(0, AES_MAC_LENGTH);
      if (mac.length !== prep.mac.length || !timingSafeEqual(mac, prep.mac)) throw new ProxyError('ARCHIVE_BAD_HMAC');
      new AesCtrLittleEndian(prep.keys.aesKey).xorInPlace(payload); // in 64 KiB keystream steps (winzip-aes.ts)
    } else if (prep.kind === 'zipcrypto') {
      prep.keys.decryptInPlace(payload);
    }
    const plain = e.dataMethod === METHOD_DEFLATE ? await inflateBounded(ctx, payload, e) : payload;
    const crc = checkPlaintext(ctx, e, plain);
    ctx.signal?.throwIfAborted();
    if (keep) return { size: plain.length, crc32: crc, data: ownBuffer(plain) };
    await writeFile(target, plain, { flag: 'wx', mode: 0o640 });
    return { size: plain.length, crc32: crc };
  } catch (err) {
    throw mapEntryError(err, e.path);
  }
}

/**
 * Inflates at most one byte more than declared: enough to tell "more than declared" without holding a bomb's output.
 * Past that, the bytes inflated count against the shared budget first, as the streaming path counts each chunk.
 */
async function inflateBounded(ctx: EntryFileContext, payload: Buffer, e: EntryLayout): Promise<Buffer> {
  const cap = e.uncompressedSize + 1;
  try {
    return await inflateRawAsync(payload, { maxOutputLength: cap });
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code !== 'ERR_BUFFER_TOO_LARGE') throw err;
    chargeBudget(ctx.budget, cap, e.path);
    throw moreThanDeclared(plaintextExpectations(e));
  }
}

/** PlaintextVerifier's checks, in its order: the shared byte budget, more than declared, CRC-32, size. Returns the CRC-32. */
function checkPlaintext(ctx: EntryFileContext, e: EntryLayout, plain: Buffer): number {
  const expect = plaintextExpectations(e);
  chargeBudget(ctx.budget, plain.length, e.path);
  if (plain.length > expect.size) throw moreThanDeclared(expect);
  const crc = crc32(plain) >>> 0;
  checkComplete(expect, plain.length, crc);
  return crc;
}

/**
 * The plaintext as a buffer that holds no more memory than its bytes: a kept entry lives until the import has stored
 * it, and a view into a larger allocation (the stored bytes' read buffer, or a slab of Node's pool that zlib's small
 * results come from) would keep all of that alive with it.
 */
function ownBuffer(plain: Buffer): Buffer {
  if (plain.length === 0) return EMPTY;
  if (plain.byteOffset === 0 && plain.buffer.byteLength === plain.length) return plain;
  const own = Buffer.allocUnsafeSlow(plain.length);
  plain.copy(own);
  return own;
}

const EMPTY = Buffer.alloc(0);

/** Positional reads served from bytes already read: `base` is the archive offset of `bytes[0]`. */
function memoryReader(bytes: Buffer, base: number): PositionalReader {
  return {
    read(buffer, offset, length, position) {
      const from = position - base;
      if (from < 0) return Promise.reject(new ProxyError('INTERNAL', `read at ${position}, before the entry's data at ${base}`));
      const n = Math.max(0, Math.min(length, bytes.length - from));
      bytes.copy(buffer, offset, from, from + n);
      return Promise.resolve({ bytesRead: n });
    },
  };
}
