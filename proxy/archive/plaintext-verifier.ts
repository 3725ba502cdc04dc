/**
 * Last transform before the file: counts the real plaintext bytes, stops the moment a limit is passed (total budget,
 * then the entry's declared size), computes CRC-32, and checks size and CRC at the end. No SHA-256 here: the import plan
 * hashes every staged file once (see importer/file-digest.ts); extraction hands it size and CRC-32 to check against.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { ProxyError } from '../errors.js';
import type { EntryLayout } from './central-directory.js';

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

/** What an entry's plaintext must be: its declared size, and its CRC-32 unless it is WinZip AE-2 (which stores none). */
export function plaintextExpectations(e: EntryLayout): PlaintextExpectations {
  return { path: e.path, size: e.uncompressedSize, crc32: e.aes?.vendorVersion === 2 ? undefined : e.crc32 };
}

/** Adds `bytes` to the shared budget; ARCHIVE_TOO_LARGE once the total passes its limit. */
export function chargeBudget(budget: ByteBudget, bytes: number, path: string): void {
  if (budget.add(bytes) > budget.limit) {
    throw new ProxyError('ARCHIVE_TOO_LARGE', `more than ${budget.limit} bytes`, { details: { path, limit: budget.limit } });
  }
}

/** ARCHIVE_SIZE_MISMATCH for an entry that produced more than its declared size. */
export function moreThanDeclared(expect: PlaintextExpectations): ProxyError {
  return new ProxyError('ARCHIVE_SIZE_MISMATCH', `${expect.path}: more than the declared ${expect.size} bytes`, {
    details: { path: expect.path, declared: expect.size },
  });
}

/**
 * The end-of-entry checks, once every byte is counted: a wrong CRC means corrupt content, which usually changes the
 * length too, so the corruption is reported first; then the size.
 */
export function checkComplete(expect: PlaintextExpectations, bytes: number, crc: number): void {
  if (expect.crc32 !== undefined && crc >>> 0 !== expect.crc32 >>> 0) {
    throw new ProxyError('ARCHIVE_BAD_CRC', expect.path, { details: { path: expect.path } });
  }
  if (bytes !== expect.size) {
    throw new ProxyError('ARCHIVE_SIZE_MISMATCH', `${expect.path}: ${bytes} != declared ${expect.size}`, {
      details: { path: expect.path, declared: expect.size, actual: bytes },
    });
  }
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
    try {
      chargeBudget(this.budget, chunk.length, this.expect.path);
      if (this.bytes > this.expect.size) throw moreThanDeclared(this.expect);
    } catch (err) {
      cb(err as Error);
      return;
    }
    this.crc = crc32(chunk, this.crc);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    try {
      checkComplete(this.expect, this.bytes, this.crc);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb();
  }

  /** Unsigned CRC-32 of the plaintext (computed for every entry, also AE-2 ones whose archive has none to check). */
  get crc32(): number {
    return this.crc >>> 0;
  }
}
