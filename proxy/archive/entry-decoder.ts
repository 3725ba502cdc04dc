/**
 * Turns one validated entry into a plaintext stream: key check (before any data is produced), raw byte range from
 * the archive file, decryption (WinZip AES or ZipCrypto), inflate. Also maps stream failures to our codes.
 */
import { Readable, type Transform } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import { createInflateRaw } from 'node:zlib';
import { ProxyError, isProxyError } from '../errors.js';
import { hasDataDescriptor, readExactly, type EntryLayout, type PositionalReader } from './central-directory.js';
import { AES_MAC_LENGTH, AES_VERIFIER_LENGTH, AesDecryptTransform, aesSaltLength, deriveAesKeys, type AesKeys } from './winzip-aes.js';
import { ZIPCRYPTO_HEADER_LENGTH, ZipCryptoDecryptTransform, ZipCryptoKeys, zipCryptoCheckByte } from './zipcrypto.js';
import { METHOD_DEFLATE } from './zip-format.js';

const READ_CHUNK = 1024 * 1024;

/** Where the payload bytes are and how to decrypt them; producing one proves the key (verifier / check byte). */
export type PreparedDecryption =
  | { readonly kind: 'none'; readonly start: number; readonly end: number }
  | { readonly kind: 'zipcrypto'; readonly keys: ZipCryptoKeys; readonly start: number; readonly end: number }
  | { readonly kind: 'aes'; readonly keys: AesKeys; readonly mac: Buffer; readonly start: number; readonly end: number };

export async function prepareDecryption(fh: PositionalReader, e: EntryLayout, password: string): Promise<PreparedDecryption> {
  const dataEnd = e.dataStart + e.compressedSize;
  switch (e.encryption) {
    case 'none':
      return { kind: 'none', start: e.dataStart, end: dataEnd };
    case 'zipcrypto': {
      if (e.compressedSize < ZIPCRYPTO_HEADER_LENGTH) throw new ProxyError('ARCHIVE_NOT_ZIP', `${e.path}: encrypted data shorter than its header`);
      const header = await readExactly(fh, ZIPCRYPTO_HEADER_LENGTH, e.dataStart);
      const keys = new ZipCryptoKeys(password);
      keys.decryptInPlace(header);
      if (header[ZIPCRYPTO_HEADER_LENGTH - 1] !== zipCryptoCheckByte(e.crc32, e.localDosTime, hasDataDescriptor(e))) {
        throw new ProxyError('ARCHIVE_WRONG_KEY', e.path, { details: { path: e.path } });
      }
      return { kind: 'zipcrypto', keys, start: e.dataStart + ZIPCRYPTO_HEADER_LENGTH, end: dataEnd };
    }
    case 'aes-128':
    case 'aes-192':
    case 'aes-256': {
      const aes = e.aes;
      if (!aes) throw new ProxyError('INTERNAL', 'AES entry without AES parameters');
      const saltLength = aesSaltLength(aes.strength);
      const overhead = saltLength + AES_VERIFIER_LENGTH + AES_MAC_LENGTH;
      if (e.compressedSize < overhead) throw new ProxyError('ARCHIVE_NOT_ZIP', `${e.path}: AES data shorter than salt, verifier and MAC`);
      const head = await readExactly(fh, saltLength + AES_VERIFIER_LENGTH, e.dataStart);
      const keys = await deriveAesKeys(password, head.subarray(0, saltLength), aes.strength);
      if (!timingSafeEqual(keys.verifier, head.subarray(saltLength))) {
        throw new ProxyError('ARCHIVE_WRONG_KEY', e.path, { details: { path: e.path } });
      }
      const mac = await readExactly(fh, AES_MAC_LENGTH, dataEnd - AES_MAC_LENGTH);
      return { kind: 'aes', keys, mac, start: e.dataStart + saltLength + AES_VERIFIER_LENGTH, end: dataEnd - AES_MAC_LENGTH };
    }
  }
}

/**
 * Bytes [start, end) of the archive by positional reads on the shared FileHandle. Not fs.createReadStream on
 * `fh.fd`: a ReadStream closes its descriptor when destroyed (pipeline destroys on any error) even with
 * autoClose:false, which would close the archive under the entries still being extracted.
 */
export function readRange(fh: PositionalReader, start: number, end: number): Readable {
  let pos = start;
  return new Readable({
    highWaterMark: READ_CHUNK,
    read(): void {
      const len = Math.min(READ_CHUNK, end - pos);
      if (len <= 0) {
        this.push(null);
        return;
      }
      const buf = Buffer.allocUnsafe(len);
      fh.read(buf, 0, len, pos).then(
        ({ bytesRead }) => {
          if (bytesRead === 0) {
            this.destroy(new ProxyError('ARCHIVE_NOT_ZIP', `archive ends at ${pos}, before ${end}`));
            return;
          }
          pos += bytesRead;
          this.push(bytesRead === len ? buf : buf.subarray(0, bytesRead));
        },
        (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    },
  });
}

export interface DecodingStages {
  readonly source: Readable;
  readonly transforms: Transform[];
  /** Present for AES entries: lets the caller finish authentication when a later stage failed first. */
  readonly aes: AesDecryptTransform | undefined;
}

export function decodingStages(fh: PositionalReader, e: EntryLayout, prep: PreparedDecryption): DecodingStages {
  const source = readRange(fh, prep.start, prep.end);
  const transforms: Transform[] = [];
  let aes: AesDecryptTransform | undefined;
  switch (prep.kind) {
    case 'none':
      break;
    case 'zipcrypto':
      transforms.push(new ZipCryptoDecryptTransform(prep.keys));
      break;
    case 'aes':
      aes = new AesDecryptTransform(prep.keys, prep.mac);
      transforms.push(aes);
      break;
  }
  if (e.dataMethod === METHOD_DEFLATE) transforms.push(createInflateRaw({ chunkSize: 256 * 1024 }));
  return { source, transforms, aes };
}

/**
 * For an AES entry whose pipeline failed downstream (inflate, CRC, size): a MAC failure takes precedence, because a
 * tampered ciphertext is what caused the downstream failure. Reads the ciphertext the decryptor had not seen yet.
 */
export async function preferMacFailure(fh: PositionalReader, prep: PreparedDecryption, aes: AesDecryptTransform, err: unknown): Promise<unknown> {
  if (prep.kind !== 'aes' || isAbort(err) || isProxyError(err, 'ARCHIVE_BAD_HMAC') || aes.macVerified) return err;
  try {
    const ok = await aes.authenticateRest(readRange(fh, prep.start + aes.consumed, prep.end));
    return ok ? err : new ProxyError('ARCHIVE_BAD_HMAC', undefined, { cause: err });
  } catch {
    return err;
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** Maps a failure inside an entry pipeline to our codes (AbortError passes through unchanged). */
export function mapEntryError(err: unknown, path: string): unknown {
  if (isProxyError(err) || isAbort(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED') {
      return new ProxyError('ARCHIVE_BAD_CRC', `${path}: compressed data is corrupt`, { cause: err, details: { path } });
    }
    if (code === 'ENOSPC' || code === 'EDQUOT') return new ProxyError('DISK_FULL', path, { cause: err, details: { path } });
  }
  return new ProxyError('INTERNAL', `${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err, details: { path } });
}
