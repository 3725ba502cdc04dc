/**
 * Streaming ZIP writer: WinZip AES-256 (AE-1/AE-2), ZipCrypto or no encryption; Deflate or Store; Zip64 when needed or
 * forced. Buffers are written with exact sizes in the local header; streams of unknown size use data descriptors
 * (general purpose bit 3), with Zip64-sized descriptors when needed. Used by the vendor simulator, tests and benchmarks.
 */
import { createWriteStream } from 'node:fs';
import { randomBytes, createHmac } from 'node:crypto';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw, crc32, deflateRaw } from 'node:zlib';
import { promisify } from 'node:util';
import { ProxyError } from '../errors.js';
import { AES_MAC_LENGTH, AesCtrLittleEndian, AesEncryptTransform, aesSaltLength, deriveAesKeys } from './winzip-aes.js';
import { ZIPCRYPTO_HEADER_LENGTH, ZipCryptoEncryptTransform, ZipCryptoKeys } from './zipcrypto.js';
import {
  EXTRA_ZIP64,
  FLAG_DATA_DESCRIPTOR,
  FLAG_ENCRYPTED,
  FLAG_UTF8,
  MAX_UINT16,
  MAX_UINT32,
  METHOD_AES,
  METHOD_DEFLATE,
  METHOD_STORE,
  S_IFREG,
  SIG_CENTRAL_HEADER,
  SIG_DATA_DESCRIPTOR,
  SIG_EOCD,
  SIG_LOCAL_HEADER,
  SIG_ZIP64_EOCD,
  SIG_ZIP64_LOCATOR,
  buildAesExtra,
  toDosDateTime,
  writeUInt64LE,
} from './zip-format.js';

const deflateRawAsync = promisify(deflateRaw);

export type ZipEncryption = 'aes-256' | 'zipcrypto' | 'none';

export interface ZipWriterOptions {
  encryption: ZipEncryption;
  /** Required unless 'none'. */
  password?: string;
  /** Default 2 (AE-2). */
  aesVersion?: 1 | 2;
  /** Default 'deflate'. */
  compression?: 'deflate' | 'store';
  /** zlib level, default 6. */
  level?: number;
  /** Default 'auto' (Zip64 records only when needed). */
  zip64?: 'auto' | 'force';
}

interface CentralRecord {
  readonly name: Buffer;
  readonly flags: number;
  readonly method: number;
  readonly time: number;
  readonly date: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly offset: number;
  readonly aesExtra: Buffer | undefined;
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new ProxyError('INTERNAL', 'non-Error failure while writing a ZIP');
}

const VERSION_MADE_BY = (3 << 8) | 63; // Unix, APPNOTE 6.3
const EXTERNAL_ATTRS = ((S_IFREG | 0o640) << 16) >>> 0;

/** Counts plaintext bytes and their CRC-32 on the way through. */
class PlainTap extends Transform {
  crc = 0;
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

export class ZipWriter {
  private offset = 0;
  private readonly records: CentralRecord[] = [];
  private queue: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private finished = false;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly options: ZipWriterOptions,
  ) {
    if (options.encryption !== 'none' && !options.password) throw new ProxyError('VALIDATION', 'ZipWriter: a password is required for encryption');
    out.on('error', (err: unknown) => {
      this.failure ??= toError(err);
    });
  }

  /** Adds one file (Buffer or Readable of any size; streamed with backpressure). Calls are serialized. */
  addFile(name: string, data: Buffer | NodeJS.ReadableStream, opts?: { mtime?: Date; compression?: 'deflate' | 'store' }): Promise<void> {
    const run = this.queue.then(() => this.writeEntry(name, data, opts ?? {}));
    this.queue = run.catch((err: unknown) => {
      this.failure ??= toError(err);
    });
    return run;
  }

  /** Writes the central directory (Zip64 EOCD when needed) and ends `out`. Returns total bytes written. */
  async finish(): Promise<{ bytes: number; entries: number }> {
    await this.queue;
    this.assertUsable();
    this.finished = true;
    const force = this.options.zip64 === 'force';
    const cdOffset = this.offset;
    for (const r of this.records) await this.write(this.centralHeader(r));
    const cdSize = this.offset - cdOffset;
    const entries = this.records.length;
    const needZip64 = force || entries >= MAX_UINT16 || cdOffset >= MAX_UINT32 || cdSize >= MAX_UINT32;
    if (needZip64) {
      const eocd64Offset = this.offset;
      const rec = Buffer.alloc(56);
      rec.writeUInt32LE(SIG_ZIP64_EOCD, 0);
      writeUInt64LE(rec, 44, 4);
      rec.writeUInt16LE(VERSION_MADE_BY, 12);
      rec.writeUInt16LE(45, 14);
      writeUInt64LE(rec, entries, 24);
      writeUInt64LE(rec, entries, 32);
      writeUInt64LE(rec, cdSize, 40);
      writeUInt64LE(rec, cdOffset, 48);
      const loc = Buffer.alloc(20);
      loc.writeUInt32LE(SIG_ZIP64_LOCATOR, 0);
      writeUInt64LE(loc, eocd64Offset, 8);
      loc.writeUInt32LE(1, 16);
      await this.write(Buffer.concat([rec, loc]));
    }
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(SIG_EOCD, 0);
    eocd.writeUInt16LE(needZip64 ? MAX_UINT16 : entries, 8);
    eocd.writeUInt16LE(needZip64 ? MAX_UINT16 : entries, 10);
    eocd.writeUInt32LE(needZip64 ? MAX_UINT32 : cdSize, 12);
    eocd.writeUInt32LE(needZip64 ? MAX_UINT32 : cdOffset, 16);
    await this.write(eocd);
    await new Promise<void>((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
    return { bytes: this.offset, entries };
  }

  private assertUsable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.finished) throw new ProxyError('VALIDATION', 'ZipWriter: already finished');
  }

  private async write(buf: Buffer): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.offset += buf.length;
    if (this.out.write(buf)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: unknown): void => {
        this.out.removeListener('drain', onDrain);
        this.out.removeListener('error', onError);
        if (err === undefined) resolve();
        else reject(toError(err));
      };
      const onDrain = (): void => done();
      const onError = (err: unknown): void => done(err);
      this.out.once('drain', onDrain);
      this.out.once('error', onError);
    });
  }

  private async writeEntry(name: string, data: Buffer | NodeJS.ReadableStream, opts: { mtime?: Date; compression?: 'deflate' | 'store' }): Promise<void> {
    this.assertUsable();
    const nameBuf = Buffer.from(name, 'utf8');
    const method = (opts.compression ?? this.options.compression ?? 'deflate') === 'store' ? METHOD_STORE : METHOD_DEFLATE;
    const { date, time } = toDosDateTime(opts.mtime ?? new Date());
    const enc = this.options.encryption;
    const aesVersion = this.options.aesVersion ?? 2;
    const aesExtra = enc === 'aes-256' ? buildAesExtra(aesVersion, 3, method) : undefined;
    let flags = /[^\x20-\x7e]/.test(name) ? FLAG_UTF8 : 0;
    if (enc !== 'none') flags |= FLAG_ENCRYPTED;
    const base = { name: nameBuf, method: aesExtra ? METHOD_AES : method, time, date, offset: this.offset, aesExtra };
    if (Buffer.isBuffer(data)) {
      const crc = crc32(data);
      const packed = method === METHOD_DEFLATE ? await deflateRawAsync(data, { level: this.options.level ?? 6 }) : data;
      const body = await this.encryptWhole(packed, (crc >>> 16) & 0xffff);
      const compressedSize = body.reduce((n, b) => n + b.length, 0);
      const rec: CentralRecord = { ...base, flags, crc: aesVersion === 2 && aesExtra ? 0 : crc, compressedSize, size: data.length };
      await this.write(this.localHeader(rec, false));
      for (const b of body) await this.write(b);
      this.records.push(rec);
      return;
    }
    flags |= FLAG_DATA_DESCRIPTOR;
    const head: CentralRecord = { ...base, flags, crc: 0, compressedSize: 0, size: 0 };
    await this.write(this.localHeader(head, true));
    const tap = new PlainTap();
    const stages: Transform[] = [tap];
    if (method === METHOD_DEFLATE) stages.push(createDeflateRaw({ level: this.options.level ?? 6, chunkSize: 256 * 1024 }));
    let compressedSize = 0;
    if (enc === 'zipcrypto') {
      const keys = new ZipCryptoKeys(this.password());
      const header = this.zipCryptoHeader(keys, time);
      await this.write(header);
      compressedSize += header.length;
      stages.push(new ZipCryptoEncryptTransform(keys));
    } else if (enc === 'aes-256') {
      const salt = randomBytes(aesSaltLength(3));
      const keys = await deriveAesKeys(this.password(), salt, 3);
      await this.write(Buffer.concat([salt, keys.verifier]));
      compressedSize += salt.length + keys.verifier.length;
      stages.push(new AesEncryptTransform(keys));
    }
    const sink = new Writable({
      highWaterMark: 1024 * 1024,
      write: (chunk: Buffer, _enc, cb): void => {
        compressedSize += chunk.length;
        this.write(chunk).then(() => cb(), cb);
      },
    });
    await pipeline([data, ...stages, sink]);
    const crc = aesExtra && aesVersion === 2 ? 0 : tap.crc >>> 0;
    const rec: CentralRecord = { ...head, crc, compressedSize, size: tap.bytes };
    const big = this.options.zip64 === 'force' || compressedSize >= MAX_UINT32 || tap.bytes >= MAX_UINT32;
    const dd = Buffer.alloc(big ? 24 : 16);
    dd.writeUInt32LE(SIG_DATA_DESCRIPTOR, 0);
    dd.writeUInt32LE(crc, 4);
    if (big) {
      writeUInt64LE(dd, compressedSize, 8);
      writeUInt64LE(dd, tap.bytes, 16);
    } else {
      dd.writeUInt32LE(compressedSize, 8);
      dd.writeUInt32LE(tap.bytes, 12);
    }
    await this.write(dd);
    this.records.push(rec);
  }

  private password(): string {
    const p = this.options.password;
    if (!p) throw new ProxyError('VALIDATION', 'ZipWriter: a password is required for encryption');
    return p;
  }

  /** 12-byte ZipCrypto header: 10 random bytes + 2 check bytes (CRC high word, or DOS time with a data descriptor). */
  private zipCryptoHeader(keys: ZipCryptoKeys, check16: number): Buffer {
    const header = randomBytes(ZIPCRYPTO_HEADER_LENGTH);
    header[10] = check16 & 0xff;
    header[11] = (check16 >>> 8) & 0xff;
    keys.encrypt(header, header);
    return header;
  }

  private async encryptWhole(packed: Buffer, crcHigh16: number): Promise<Buffer[]> {
    switch (this.options.encryption) {
      case 'none':
        return [packed];
      case 'zipcrypto': {
        const keys = new ZipCryptoKeys(this.password());
        const header = this.zipCryptoHeader(keys, crcHigh16);
        const body = Buffer.allocUnsafe(packed.length);
        keys.encrypt(packed, body);
        return [header, body];
      }
      case 'aes-256': {
        const salt = randomBytes(aesSaltLength(3));
        const keys = await deriveAesKeys(this.password(), salt, 3);
        const ct = new AesCtrLittleEndian(keys.aesKey).xor(packed);
        const mac = createHmac('sha1', keys.hmacKey).update(ct).digest().subarray(0, AES_MAC_LENGTH);
        return [salt, Buffer.from(keys.verifier), ct, mac];
      }
    }
  }

  private versionNeeded(r: CentralRecord, zip64: boolean): number {
    if (r.aesExtra) return 51;
    return zip64 ? 45 : 20;
  }

  private localHeader(r: CentralRecord, streaming: boolean): Buffer {
    const zip64 = this.options.zip64 === 'force' || r.size >= MAX_UINT32 || r.compressedSize >= MAX_UINT32;
    const extras: Buffer[] = [];
    if (zip64) {
      const z = Buffer.alloc(20);
      z.writeUInt16LE(EXTRA_ZIP64, 0);
      z.writeUInt16LE(16, 2);
      writeUInt64LE(z, streaming ? 0 : r.size, 4);
      writeUInt64LE(z, streaming ? 0 : r.compressedSize, 12);
      extras.push(z);
    }
    if (r.aesExtra) extras.push(r.aesExtra);
    const extra = Buffer.concat(extras);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(SIG_LOCAL_HEADER, 0);
    h.writeUInt16LE(this.versionNeeded(r, zip64), 4);
    h.writeUInt16LE(r.flags, 6);
    h.writeUInt16LE(r.method, 8);
    h.writeUInt16LE(r.time, 10);
    h.writeUInt16LE(r.date, 12);
    h.writeUInt32LE(streaming ? 0 : r.crc, 14);
    h.writeUInt32LE(zip64 ? MAX_UINT32 : streaming ? 0 : r.compressedSize, 18);
    h.writeUInt32LE(zip64 ? MAX_UINT32 : streaming ? 0 : r.size, 22);
    h.writeUInt16LE(r.name.length, 26);
    h.writeUInt16LE(extra.length, 28);
    return Buffer.concat([h, r.name, extra]);
  }

  private centralHeader(r: CentralRecord): Buffer {
    const force = this.options.zip64 === 'force';
    const bigSize = force || r.size >= MAX_UINT32;
    const bigComp = force || r.compressedSize >= MAX_UINT32;
    const bigOff = force || r.offset >= MAX_UINT32;
    const z64: number[] = [];
    if (bigSize) z64.push(r.size);
    if (bigComp) z64.push(r.compressedSize);
    if (bigOff) z64.push(r.offset);
    const extras: Buffer[] = [];
    if (z64.length > 0) {
      const z = Buffer.alloc(4 + 8 * z64.length);
      z.writeUInt16LE(EXTRA_ZIP64, 0);
      z.writeUInt16LE(8 * z64.length, 2);
      z64.forEach((v, i) => writeUInt64LE(z, v, 4 + 8 * i));
      extras.push(z);
    }
    if (r.aesExtra) extras.push(r.aesExtra);
    const extra = Buffer.concat(extras);
    const h = Buffer.alloc(46);
    h.writeUInt32LE(SIG_CENTRAL_HEADER, 0);
    h.writeUInt16LE(VERSION_MADE_BY, 4);
    h.writeUInt16LE(this.versionNeeded(r, z64.length > 0), 6);
    h.writeUInt16LE(r.flags, 8);
    h.writeUInt16LE(r.method, 10);
    h.writeUInt16LE(r.time, 12);
    h.writeUInt16LE(r.date, 14);
    h.writeUInt32LE(r.crc >>> 0, 16);
    h.writeUInt32LE(bigComp ? MAX_UINT32 : r.compressedSize, 20);
    h.writeUInt32LE(bigSize ? MAX_UINT32 : r.size, 24);
    h.writeUInt16LE(r.name.length, 28);
    h.writeUInt16LE(extra.length, 30);
    h.writeUInt32LE(EXTERNAL_ATTRS, 38);
    h.writeUInt32LE(bigOff ? MAX_UINT32 : r.offset, 42);
    return Buffer.concat([h, r.name, extra]);
  }
}

/** Convenience: build a whole archive at `path` from a list; returns bytes. */
export async function writeZipFile(
  path: string,
  files: { name: string; data: Buffer | NodeJS.ReadableStream }[],
  options: ZipWriterOptions,
): Promise<number> {
  const out = createWriteStream(path, { mode: 0o640 });
  const closed = new Promise<void>((resolve, reject) => {
    out.once('close', resolve);
    out.once('error', reject);
  });
  const zip = new ZipWriter(out, options);
  try {
    for (const f of files) await zip.addFile(f.name, f.data);
    const { bytes } = await zip.finish();
    await closed;
    return bytes;
  } catch (err) {
    out.destroy();
    await closed.catch(() => undefined);
    throw err;
  }
}
