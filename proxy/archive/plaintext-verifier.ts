/**
 * Last transform before the file: counts the real plaintext bytes, stops the moment a limit is passed (total budget,
 * then the entry's declared size), computes CRC-32, and checks size and CRC at the end. No SHA-256 here: the import plan
 * hashes every staged file once (see importer/file-digest.ts); extraction hands it size and CRC-32 to check against.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { ProxyError } from '../errors.js';

/**
 * Shared across all entries of one extraction (and across the worker threads extracting them): the actual (never the
 * declared) number of bytes written. A SharedArrayBuffer counter updated atomically, so every thread sees the total.
 */
export class ByteBudget {
  private readonly counter: BigInt64Array;

  constructor(
    readonly limit: number,
    shared: SharedArrayBuffer = new SharedArrayBuffer(8),
  ) {
    this.counter = new BigInt64Array(shared, 0, 1);
  }

  /** The memory to hand to another thread (`new ByteBudget(limit, budget.shared)` there). */
  get shared(): SharedArrayBuffer {
    return this.counter.buffer as SharedArrayBuffer;
  }

  /** Adds `bytes` and returns the new total. */
  add(bytes: number): number {
    return Number(Atomics.add(this.counter, 0, BigInt(bytes))) + bytes;
  }

  get used(): number {
    return Number(Atomics.load(this.counter, 0));
  }
}

export interface PlaintextExpectations {
  readonly path: string;
  readonly size: number;
  /** undefined: no CRC to check (WinZip AE-2). */
  readonly crc32: number | undefined;
}

export class PlaintextVerifier extends Transform {
  private crc = 0;
  bytes = 0;

  constructor(
    private readonly expect: PlaintextExpectations,
    private readonly budget: ByteBudget,
  ) {
    super({ readableHighWaterMark: 256 * 1024, writableHighWaterMark: 256 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.budget.add(chunk.length) > this.budget.limit) {
      cb(new ProxyError('ARCHIVE_TOO_LARGE', `more than ${this.budget.limit} bytes`, { details: { path: this.expect.path, limit: this.budget.limit } }));
      return;
    }
    if (this.bytes > this.expect.size) {
      cb(new ProxyError('ARCHIVE_SIZE_MISMATCH', `${this.expect.path}: more than the declared ${this.expect.size} bytes`, {
        details: { path: this.expect.path, declared: this.expect.size },
      }));
      return;
    }
    this.crc = crc32(chunk, this.crc);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    // A wrong CRC means corrupt content, which usually changes the length too: report the corruption first.
    if (this.expect.crc32 !== undefined && this.crc >>> 0 !== this.expect.crc32 >>> 0) {
      cb(new ProxyError('ARCHIVE_BAD_CRC', this.expect.path, { details: { path: this.expect.path } }));
      return;
    }
    if (this.bytes !== this.expect.size) {
      cb(new ProxyError('ARCHIVE_SIZE_MISMATCH', `${this.expect.path}: ${this.bytes} != declared ${this.expect.size}`, {
        details: { path: this.expect.path, declared: this.expect.size, actual: this.bytes },
      }));
      return;
    }
    cb();
  }

  /** Unsigned CRC-32 of the plaintext (computed for every entry, also AE-2 ones whose archive has none to check). */
  get crc32(): number {
    return this.crc >>> 0;
  }
}
