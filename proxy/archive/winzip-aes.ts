/**
 * WinZip AES (AE-1 / AE-2) on Node's native crypto.
 *
 * Key material: PBKDF2-HMAC-SHA1(password, salt, 1000) -> AES key | HMAC-SHA1 key | 2-byte password verifier.
 * Cipher: AES-CTR with a 128-bit LITTLE-endian block counter starting at 1. OpenSSL's CTR counts big-endian, so the
 * counter blocks are generated in bulk, encrypted with native AES-ECB to get the keystream, and XORed in 32-bit words.
 * Authentication: HMAC-SHA1 over the ciphertext, first 10 bytes stored after the data.
 */
import { createCipheriv, createHmac, pbkdf2, timingSafeEqual, type Cipher, type Hmac } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ProxyError } from '../errors.js';
import { aesKeyLength, type AesStrength } from './zip-format.js';

export const AES_MAC_LENGTH = 10;
export const AES_VERIFIER_LENGTH = 2;
const PBKDF2_ITERATIONS = 1000;
/** Bytes of keystream made at once (a multiple of 16). */
const KEYSTREAM_STEP = 64 * 1024;

export interface AesKeys {
  readonly aesKey: Buffer;
  readonly hmacKey: Buffer;
  readonly verifier: Buffer;
}

export function aesSaltLength(strength: AesStrength): 8 | 12 | 16 {
  return (aesKeyLength(strength) / 2) as 8 | 12 | 16;
}

export function deriveAesKeys(password: string, salt: Buffer, strength: AesStrength): Promise<AesKeys> {
  const keyLen = aesKeyLength(strength);
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), salt, PBKDF2_ITERATIONS, keyLen * 2 + AES_VERIFIER_LENGTH, 'sha1', (err, dk) => {
      if (err) {
        reject(err);
        return;
      }
      resolve({
        aesKey: dk.subarray(0, keyLen),
        hmacKey: dk.subarray(keyLen, keyLen * 2),
        verifier: dk.subarray(keyLen * 2),
      });
    });
  });
}

/** Stateful AES-CTR (little-endian counter from 1) keystream XOR. Encryption and decryption are the same. */
export class AesCtrLittleEndian {
  private readonly ecb: Cipher;
  private counter = 1;
  private counterBlocks: Buffer = Buffer.alloc(0);
  private keystream: Buffer = Buffer.alloc(0);
  private keystreamPos = 0;

  constructor(aesKey: Buffer) {
    this.ecb = createCipheriv(`aes-${aesKey.length * 8}-ecb`, aesKey, null);
    this.ecb.setAutoPadding(false);
  }

  /** Returns a new buffer: input XOR keystream. */
  xor(input: Buffer): Buffer {
    return this.xorTo(input, Buffer.allocUnsafe(input.length));
  }

  /** XORs the keystream into `buf` itself (for buffers we own, e.g. fresh file reads): no allocation. */
  xorInPlace(buf: Buffer): Buffer {
    return this.xorTo(buf, buf);
  }

  private xorTo(input: Buffer, out: Buffer): Buffer {
    const n = input.length;
    let i = 0;
    const ks = this.keystream;
    while (i < n && this.keystreamPos < ks.length) {
      out[i] = input[i]! ^ ks[this.keystreamPos++]!;
      i++;
    }
    // In steps of at most KEYSTREAM_STEP bytes: the counter blocks and the keystream stay that small whatever the
    // chunk (1 MiB reads when streaming, a whole entry in memory).
    while (i < n) {
      const step = Math.min(n - i, KEYSTREAM_STEP);
      const fresh = this.nextKeystream(Math.ceil(step / 16));
      xorInto(out, i, input, i, fresh, step);
      this.keystream = fresh;
      this.keystreamPos = step;
      i += step;
    }
    return out;
  }

  private nextKeystream(blocks: number): Buffer {
    const bytes = blocks * 16;
    if (this.counterBlocks.length < bytes) {
      // Fresh (aligned, zeroed) memory; only words 0 and 1 of each block are ever written. At most KEYSTREAM_STEP
      // bytes (xorTo's steps); an entry smaller than that takes no more than it needs.
      this.counterBlocks = Buffer.alloc(bytes);
    }
    const words = new Uint32Array(this.counterBlocks.buffer, this.counterBlocks.byteOffset, bytes / 4);
    let c = this.counter;
    const last = c + blocks - 1;
    if (Math.floor(last / 0x100000000) === Math.floor(c / 0x100000000)) {
      // Common case: the high word is the same for the whole run.
      const high = Math.floor(c / 0x100000000) >>> 0;
      let low = c >>> 0;
      for (let w = 0; w < blocks * 4; w += 4) {
        words[w] = low++;
        words[w + 1] = high;
      }
      c += blocks;
    } else {
      for (let b = 0, w = 0; b < blocks; b++, w += 4, c++) {
        words[w] = c >>> 0;
        words[w + 1] = Math.floor(c / 0x100000000) >>> 0;
      }
    }
    this.counter = c;
    return this.ecb.update(this.counterBlocks.subarray(0, bytes));
  }
}

function xorInto(out: Buffer, outOff: number, a: Buffer, aOff: number, ks: Buffer, len: number): void {
  let i = 0;
  const oA = out.byteOffset + outOff;
  const aA = a.byteOffset + aOff;
  if ((oA & 3) === 0 && (aA & 3) === 0 && (ks.byteOffset & 3) === 0 && len >= 16) {
    const words = len >>> 2;
    const o32 = new Int32Array(out.buffer, oA, words);
    const a32 = new Int32Array(a.buffer, aA, words);
    const k32 = new Int32Array(ks.buffer, ks.byteOffset, words);
    for (let w = 0; w < words; w++) o32[w] = a32[w]! ^ k32[w]!;
    i = words << 2;
  }
  for (; i < len; i++) out[outOff + i] = a[aOff + i]! ^ ks[i]!;
}

/**
 * Decrypts WinZip AES ciphertext (without salt/verifier/MAC) and authenticates it; fails with ARCHIVE_BAD_HMAC at the end
 * when the MAC does not match. `consumed` tells how much ciphertext went through (used to finish authentication when a
 * later stage fails first).
 */
export class AesDecryptTransform extends Transform {
  private readonly ctr: AesCtrLittleEndian;
  private readonly hmac: Hmac;
  consumed = 0;
  /** True once the MAC was computed at the end of the data and matched. */
  macVerified = false;
  private digested = false;

  constructor(keys: AesKeys, private readonly expectedMac: Buffer) {
    super({ readableHighWaterMark: 256 * 1024, writableHighWaterMark: 256 * 1024 });
    this.ctr = new AesCtrLittleEndian(keys.aesKey);
    this.hmac = createHmac('sha1', keys.hmacKey);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hmac.update(chunk);
    this.consumed += chunk.length;
    // The chunk is a fresh read from the archive file, owned by this pipeline: decrypt in place.
    cb(null, this.ctr.xorInPlace(chunk));
  }

  override _flush(cb: TransformCallback): void {
    this.digested = true;
    const mac = this.hmac.digest().subarray(0, AES_MAC_LENGTH);
    if (mac.length !== this.expectedMac.length || !timingSafeEqual(mac, this.expectedMac)) {
      cb(new ProxyError('ARCHIVE_BAD_HMAC'));
      return;
    }
    this.macVerified = true;
    cb();
  }

  /** Feeds the rest of the ciphertext (read by the caller) into the MAC only and tells whether it matches. */
  async authenticateRest(rest: AsyncIterable<Buffer>): Promise<boolean> {
    if (this.digested) return this.macVerified;
    this.digested = true;
    for await (const chunk of rest) this.hmac.update(chunk);
    const mac = this.hmac.digest().subarray(0, AES_MAC_LENGTH);
    return mac.length === this.expectedMac.length && timingSafeEqual(mac, this.expectedMac);
  }
}

/** Encrypts plaintext (already compressed) and appends the 10-byte MAC on flush. Salt and verifier are written by the caller. */
export class AesEncryptTransform extends Transform {
  private readonly ctr: AesCtrLittleEndian;
  private readonly hmac: Hmac;

  constructor(keys: AesKeys) {
    super({ readableHighWaterMark: 256 * 1024, writableHighWaterMark: 256 * 1024 });
    this.ctr = new AesCtrLittleEndian(keys.aesKey);
    this.hmac = createHmac('sha1', keys.hmacKey);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const ct = this.ctr.xor(chunk);
    this.hmac.update(ct);
    cb(null, ct);
  }

  override _flush(cb: TransformCallback): void {
    cb(null, this.hmac.digest().subarray(0, AES_MAC_LENGTH));
  }
}
