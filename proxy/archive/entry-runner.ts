/**
 * Where entries are extracted: on the calling thread and, with two cores or more, on worker threads too (by default
 * one: each worker costs ~30 MiB of RSS, and two threads already keep two cores busy, with inflate on libuv's pool).
 * No workers when the archive is small or the compiled worker script is not there (running from the TypeScript
 * sources, e.g. unit tests). Every thread runs the same extractEntryFile; entries go to the least busy one.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { ProxyError } from '../errors.js';
import { startWorker, workerScriptExists } from '../util/worker-thread.js';
import type { EntryLayout, PositionalReader, ZipEntryInfo } from './central-directory.js';
import { extractEntryFile, type EntryFileResult } from './entry-file.js';
import type { ByteBudget } from './plaintext-verifier.js';
import { deserializeError, type FromWorker, type ToWorker, type WorkerInit, type WorkerResult } from './worker-protocol.js';

export interface EntryRunner {
  /** How many entries may be in flight at once. */
  readonly slots: number;
  readonly threads: number;
  /** `keep`: a small entry comes back in `data` instead of written (extractEntryFile). */
  run(e: ZipEntryInfo, target: string, keep: boolean): Promise<EntryFileResult>;
  /** Stops every entry in flight (they fail with AbortError). */
  abort(): void;
  /** Releases the threads; call once every run() has settled (then no thread is still writing). */
  finish(): Promise<void>;
}

export interface RunnerOptions {
  readonly fd: number;
  readonly reader: PositionalReader;
  readonly password: string;
  readonly budget: ByteBudget;
  readonly signal: AbortSignal;
  /** Worker threads besides the calling thread; undefined = automatic. */
  readonly threads: number | undefined;
  /** Sum of the entries' compressed sizes (small archives are not worth starting threads for). */
  readonly payloadBytes: number;
  /** Entries at most this large are extracted in memory (small-entry.ts). */
  readonly inMemoryBytes: number;
}

const MAX_WORKERS = 4;
const DEFAULT_WORKERS = 1;
/** Entries each thread works on at once: overlaps one entry's reads, inflate and writes with another's CPU work. */
const ENTRIES_PER_THREAD = 2;
/** Below this much compressed data, starting threads (~30 ms each) costs more than it saves. */
const MIN_THREADED_PAYLOAD = 32 * 1024 * 1024;
const WORKER_URL = new URL('./extract-worker.js', import.meta.url);

function threadCount(o: RunnerOptions): number {
  if (!workerScriptExists(WORKER_URL)) return 0;
  if (o.threads !== undefined) return Math.max(0, Math.min(MAX_WORKERS, Math.floor(o.threads)));
  const cores = availableParallelism();
  if (cores < 2 || o.payloadBytes < MIN_THREADED_PAYLOAD) return 0;
  return Math.min(DEFAULT_WORKERS, cores - 1);
}

export function createEntryRunner(o: RunnerOptions): EntryRunner {
  const threads = threadCount(o);
  return threads === 0 ? inProcessRunner(o, ENTRIES_PER_THREAD + 1) : combined(inProcessRunner(o, ENTRIES_PER_THREAD), workerRunner(o, threads));
}

/** Spreads entries over both runners (to the one with fewer in flight, per slot). */
function combined(a: EntryRunner, b: EntryRunner): EntryRunner {
  const busy = new Map<EntryRunner, number>([[a, 0], [b, 0]]);
  return {
    slots: a.slots + b.slots,
    threads: a.threads + b.threads,
    async run(e, target, keep) {
      const r = busy.get(a)! / a.slots <= busy.get(b)! / b.slots ? a : b;
      busy.set(r, busy.get(r)! + 1);
      try {
        return await r.run(e, target, keep);
      } finally {
        busy.set(r, busy.get(r)! - 1);
      }
    },
    abort() {
      a.abort();
      b.abort();
    },
    async finish() {
      const [ra, rb] = await Promise.allSettled([a.finish(), b.finish()]);
      if (ra.status === 'rejected') throw ra.reason;
      if (rb.status === 'rejected') throw rb.reason;
    },
  };
}

function inProcessRunner(o: RunnerOptions, slots: number): EntryRunner {
  const ctx = { reader: o.reader, password: o.password, budget: o.budget, signal: o.signal, inMemoryBytes: o.inMemoryBytes };
  return {
    slots,
    threads: 0,
    run: (e, target, keep) => extractEntryFile(ctx, jobOf(e), target, keep),
    abort: () => undefined, // the pipelines already follow o.signal
    finish: () => Promise.resolve(),
  };
}

/** A kept entry's bytes arrive as a Uint8Array (structured clone, a copy of its own): made a Buffer again, not copied. */
function fromWorker(r: WorkerResult): EntryFileResult {
  const { data, ...rest } = r;
  return data === undefined ? rest : { ...rest, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}

function jobOf(e: ZipEntryInfo): EntryLayout {
  const { rawName: _rawName, ...job } = e;
  return job;
}

interface PoolThread {
  readonly worker: Worker;
  readonly pending: Map<number, { resolve: (r: EntryFileResult) => void; reject: (err: unknown) => void }>;
  dead: Error | undefined;
}

function workerRunner(o: RunnerOptions, count: number): EntryRunner {
  const init: WorkerInit = { fd: o.fd, password: o.password, budget: o.budget.shared, limit: o.budget.limit, inMemoryBytes: o.inMemoryBytes };
  let nextId = 0;
  const pool: PoolThread[] = [];
  for (let i = 0; i < count; i++) {
    const t: PoolThread = { worker: startWorker(WORKER_URL, init), pending: new Map(), dead: undefined };
    const die = (err: Error): void => {
      t.dead ??= err;
      for (const p of t.pending.values()) p.reject(err);
      t.pending.clear();
    };
    t.worker.on('message', (msg: FromWorker) => {
      switch (msg.type) {
        case 'done':
          t.pending.get(msg.id)?.resolve(fromWorker(msg.result));
          t.pending.delete(msg.id);
          break;
        case 'failed':
          t.pending.get(msg.id)?.reject(deserializeError(msg.error));
          t.pending.delete(msg.id);
          break;
      }
    });
    t.worker.on('error', (err: Error) => die(new ProxyError('INTERNAL', `extraction worker failed: ${err.message}`, { cause: err })));
    t.worker.on('exit', (code) => die(new ProxyError('INTERNAL', `extraction worker exited (${code})`)));
    pool.push(t);
  }
  const post = (t: PoolThread, msg: ToWorker): void => t.worker.postMessage(msg);
  const abort = (): void => {
    for (const t of pool) if (!t.dead) post(t, { type: 'abort' });
  };
  o.signal.addEventListener('abort', abort, { once: true });

  return {
    slots: count * ENTRIES_PER_THREAD,
    threads: count,
    run(e, target, keep) {
      const live = pool.filter((t) => !t.dead);
      const t = live.reduce<PoolThread | undefined>((best, c) => (best === undefined || c.pending.size < best.pending.size ? c : best), undefined);
      if (t === undefined) return Promise.reject(pool[0]?.dead ?? new ProxyError('INTERNAL', 'no extraction worker'));
      const id = nextId++;
      return new Promise<EntryFileResult>((resolve, reject) => {
        t.pending.set(id, { resolve, reject });
        post(t, { type: 'entry', id, entry: jobOf(e), target, keep });
      });
    },
    abort,
    async finish() {
      o.signal.removeEventListener('abort', abort);
      // Every entry has settled (done or failed), so no thread is writing; a thread that died already failed its entries.
      await Promise.all(pool.map((t) => t.worker.terminate()));
    },
  };
}
