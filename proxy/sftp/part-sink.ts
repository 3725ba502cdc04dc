/**
 * Where downloaded chunks go: positional writes to the part file plus SHA-256 of the whole file in order (starting with
 * the resumed prefix already on disk). Normally a worker thread does both (part-sink-worker.ts): the chunk buffers are
 * transferred to it (no copy; not shared memory, which V8 copies into byte by byte) in batches, and come back once
 * written and hashed; the main thread keeps only ssh2's packet handling. Without the compiled worker script (running
 * from the TypeScript sources, e.g. unit tests) the same work runs on the calling thread.
 */
import { createHash } from 'node:crypto';
import { read, write } from 'node:fs';
import { startWorker, workerScriptExists } from '../util/worker-thread.js';

export interface PartSink {
  /**
   * Writes `buffer.subarray(0, length)` at `position` and feeds it to the hash. Call in file order. The buffer must
   * own its whole ArrayBuffer and is unusable until `done` hands it (or its replacement) back, after both.
   */
  write(buffer: Buffer, position: number, length: number, done: (err: Error | undefined, buffer: Buffer) => void): void;
  /** Hex SHA-256 of the prefix and every chunk written; call after the last write completed. */
  digest(): Promise<string>;
  close(): Promise<void>;
  readonly threaded: boolean;
}

export interface SinkInit {
  readonly fd: number;
  readonly prefixLength: number;
}
export interface SinkChunk {
  readonly id: number;
  readonly data: ArrayBuffer;
  readonly length: number;
  readonly position: number;
}
export type SinkToWorker = { readonly type: 'write'; readonly chunks: SinkChunk[] } | { readonly type: 'digest' };
export type SinkFromWorker =
  | { readonly type: 'ready' }
  /** The chunks' buffers come back in the same order; `error` set from the first chunk that failed. */
  | { readonly type: 'written'; readonly ids: number[]; readonly data: ArrayBuffer[]; readonly error: SinkError | undefined; readonly failedId: number }
  | { readonly type: 'failed'; readonly error: SinkError }
  | { readonly type: 'digest'; readonly hex: string };
export interface SinkError {
  readonly message: string;
  readonly code: string | undefined;
}

/** A chunk buffer that owns its whole ArrayBuffer (transferable). */
export function chunkBuffer(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}

const WORKER_URL = new URL('./part-sink-worker.js', import.meta.url);
const BATCH_BYTES = 2 * 1024 * 1024;
const BATCH_DELAY_MS = 2;

/** Below this many bytes to fetch, a thread (start-up ~30 ms, more on a busy machine) is not worth it. */
const MIN_THREADED_BYTES = 32 * 1024 * 1024;

/**
 * Opens the sink on `fd` after hashing its first `prefixLength` bytes (the resumed part). Errors carry the fs `code`.
 * `threaded` defaults to: the compiled worker script exists and at least 32 MiB are still to fetch (`remainingBytes`).
 */
export async function openPartSink(
  fd: number,
  prefixLength: number,
  options: { threaded?: boolean; remainingBytes?: number } = {},
): Promise<PartSink> {
  const threaded = options.threaded ?? (workerScriptExists(WORKER_URL) && (options.remainingBytes ?? Infinity) >= MIN_THREADED_BYTES);
  return threaded ? openWorkerSink(fd, prefixLength) : openLocalSink(fd, prefixLength);
}

function fsError(e: SinkError): Error {
  return Object.assign(new Error(e.message), { code: e.code });
}

async function openWorkerSink(fd: number, prefixLength: number): Promise<PartSink> {
  const init: SinkInit = { fd, prefixLength };
  const worker = startWorker(WORKER_URL, init);
  type Done = (err: Error | undefined, buffer: Buffer) => void;
  const pending = new Map<number, { done: Done; buffer: Buffer }>();
  let digestWaiter: ((hex: string | Error) => void) | undefined;
  let dead: Error | undefined;
  let nextId = 0;
  let batch: SinkChunk[] = [];
  let batchBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const die = (err: Error): void => {
    dead ??= err;
    for (const p of pending.values()) p.done(err, p.buffer);
    pending.clear();
    digestWaiter?.(err);
    digestWaiter = undefined;
  };
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (msg: SinkFromWorker) => {
      switch (msg.type) {
        case 'ready':
          resolve();
          break;
        case 'written':
          msg.ids.forEach((id, i) => {
            const p = pending.get(id);
            pending.delete(id);
            const back = Buffer.from(msg.data[i]!);
            p?.done(msg.error && id >= msg.failedId ? fsError(msg.error) : undefined, back);
          });
          break;
        case 'failed':
          reject(fsError(msg.error));
          break;
        case 'digest':
          digestWaiter?.(msg.hex);
          digestWaiter = undefined;
          break;
      }
    });
    worker.on('error', (err) => {
      reject(err);
      die(err);
    });
    worker.on('exit', (code) => {
      const err = new Error(`part-file sink thread exited (${code})`);
      reject(err);
      die(err);
    });
  });
  try {
    await ready;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  // Chunks go to the thread in batches of BATCH_BYTES, or after BATCH_DELAY_MS: every message wakes a thread, and on a
  // busy machine each wake-up is a context switch.
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    const chunks = batch;
    batch = [];
    batchBytes = 0;
    if (chunks.length === 0) return;
    if (dead) return;
    worker.postMessage({ type: 'write', chunks } satisfies SinkToWorker, chunks.map((c) => c.data));
  };
  return {
    threaded: true,
    write(buffer, position, length, done) {
      if (dead) {
        done(dead, buffer);
        return;
      }
      if (buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength || !(buffer.buffer instanceof ArrayBuffer)) {
        done(new Error('part-file sink: the chunk buffer must own its ArrayBuffer'), buffer);
        return;
      }
      const id = nextId++;
      pending.set(id, { done, buffer });
      batch.push({ id, data: buffer.buffer, length, position });
      batchBytes += length;
      if (batchBytes >= BATCH_BYTES) flush();
      else timer ??= setTimeout(flush, BATCH_DELAY_MS);
    },
    digest() {
      if (dead) return Promise.reject(dead);
      return new Promise<string>((resolve, reject) => {
        digestWaiter = (hex) => (typeof hex === 'string' ? resolve(hex) : reject(hex));
        worker.postMessage({ type: 'digest' } satisfies SinkToWorker);
      });
    },
    async close() {
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}

async function openLocalSink(fd: number, prefixLength: number): Promise<PartSink> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(1, prefixLength)));
  for (let pos = 0; pos < prefixLength; ) {
    const n = await new Promise<number>((resolve, reject) => {
      read(fd, buf, 0, Math.min(buf.length, prefixLength - pos), pos, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
    });
    if (n === 0) throw Object.assign(new Error(`part file ended at ${pos} while hashing its first ${prefixLength} bytes`), { code: 'ESHORT' });
    hash.update(buf.subarray(0, n));
    pos += n;
  }
  // Writes may complete out of order; the hash must see the chunks in call (file) order.
  const queue: { buffer: Buffer; length: number; written: boolean; done: (err: Error | undefined, buffer: Buffer) => void }[] = [];
  const drain = (): void => {
    while (queue.length > 0 && queue[0]!.written) {
      const head = queue.shift()!;
      hash.update(head.buffer.subarray(0, head.length));
      head.done(undefined, head.buffer);
    }
  };
  return {
    threaded: false,
    write(buffer, position, length, done) {
      const item = { buffer, length, written: false, done };
      queue.push(item);
      const writeFrom = (off: number): void => {
        write(fd, buffer, off, length - off, position + off, (err, n) => {
          if (err) {
            queue.splice(queue.indexOf(item), 1);
            done(err, buffer);
          } else if (off + n < length) {
            writeFrom(off + n);
          } else {
            item.written = true;
            drain();
          }
        });
      };
      writeFrom(0);
    },
    digest: () => Promise.resolve(hash.digest('hex')),
    close: () => Promise.resolve(),
  };
}
