/**
 * Traditional PKWARE encryption ("ZipCrypto"), APPNOTE section 6.1. Byte-wise stream cipher; the hot loops keep the
 * three keys in local int32 variables and use Math.imul so V8 stays on integer arithmetic.
 */
import { Transform, type TransformCallback } from 'node:stream';

export const ZIPCRYPTO_HEADER_LENGTH = 12;

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

export class ZipCryptoKeys {
  private k0 = 0x12345678;
  private k1 = 0x23456789;
  private k2 = 0x34567890;

  constructor(password: string) {
    const bytes = Buffer.from(password, 'utf8');
    for (const b of bytes) this.update(b);
  }

  private update(p: number): void {
    const t = CRC_TABLE;
    this.k0 = t[(this.k0 ^ p) & 0xff]! ^ (this.k0 >>> 8);
    this.k1 = (Math.imul(this.k1 + (this.k0 & 0xff), 134775813) + 1) | 0;
    this.k2 = t[(this.k2 ^ (this.k1 >>> 24)) & 0xff]! ^ (this.k2 >>> 8);
  }

  /** Decrypts `buf` in place. */
  decryptInPlace(buf: Uint8Array): void {
    const t = CRC_TABLE;
    let k0 = this.k0;
    let k1 = this.k1;
    let k2 = this.k2;
    for (let i = 0, n = buf.length; i < n; i++) {
      const tmp = (k2 | 2) & 0xffff;
      const c = (buf[i]! ^ (Math.imul(tmp, tmp ^ 1) >>> 8)) & 0xff;
      buf[i] = c;
      k0 = t[(k0 ^ c) & 0xff]! ^ (k0 >>> 8);
      k1 = (Math.imul((k1 + (k0 & 0xff)) | 0, 134775813) + 1) | 0;
      k2 = t[(k2 ^ (k1 >>> 24)) & 0xff]! ^ (k2 >>> 8);
    }
    this.k0 = k0;
    this.k1 = k1;
    this.k2 = k2;
  }

  /** Encrypts `src` into `dst` (may be the same buffer). */
  encrypt(src: Uint8Array, dst: Uint8Array): void {
    const t = CRC_TABLE;
    let k0 = this.k0;
    let k1 = this.k1;
    let k2 = this.k2;
    for (let i = 0, n = src.length; i < n; i++) {
      const tmp = (k2 | 2) & 0xffff;
      const p = src[i]!;
      dst[i] = (p ^ (Math.imul(tmp, tmp ^ 1) >>> 8)) & 0xff;
      k0 = t[(k0 ^ p) & 0xff]! ^ (k0 >>> 8);
      k1 = (Math.imul((k1 + (k0 & 0xff)) | 0, 134775813) + 1) | 0;
      k2 = t[(k2 ^ (k1 >>> 24)) & 0xff]! ^ (k2 >>> 8);
    }
    this.k0 = k0;
    this.k1 = k1;
    this.k2 = k2;
  }
}

/** Byte the decrypted 12-byte header must end with: CRC high byte, or the DOS time high byte with a data descriptor. */
export function zipCryptoCheckByte(crc32: number, dosTime: number, hasDataDescriptor: boolean): number {
  return hasDataDescriptor ? (dosTime >>> 8) & 0xff : (crc32 >>> 24) & 0xff;
}

/** Decrypts ZipCrypto data (after the 12-byte header) chunk by chunk, in place (the chunks come from our own file reads). */
export class ZipCryptoDecryptTransform extends Transform {
  constructor(private readonly keys: ZipCryptoKeys) {
    super({ readableHighWaterMark: 256 * 1024, writableHighWaterMark: 256 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.keys.decryptInPlace(chunk);
    cb(null, chunk);
  }
}

/** Encrypts into fresh buffers (the caller's data is never modified). */
export class ZipCryptoEncryptTransform extends Transform {
  constructor(private readonly keys: ZipCryptoKeys) {
    super({ readableHighWaterMark: 256 * 1024, writableHighWaterMark: 256 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const out = Buffer.allocUnsafe(chunk.length);
    this.keys.encrypt(chunk, out);
    cb(null, out);
  }
}
