/**
 * Part-file sink thread (see part-sink.ts): writes the transfer's chunks to the part file and feeds them, in file order,
 * to SHA-256, so that neither the page-cache copy nor the hash competes with ssh2's packet handling on the main thread.
 * The chunk buffers are transferred here and back (batched); the main thread reuses one only once it is back.
 */
import { createHash } from 'node:crypto';
import { readSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { SinkError, SinkFromWorker, SinkInit, SinkToWorker } from './part-sink.js';

const port = parentPort;
if (port === null) throw new Error('part-sink-worker.js must run as a worker thread');
const init = workerData as SinkInit;
const hash = createHash('sha256');
let failed = false;

const post = (msg: SinkFromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

function errorOf(err: unknown): SinkError {
  const e = err as { message?: unknown; code?: unknown } | null;
  return { message: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : undefined };
}

function hashPrefix(): void {
  const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(1, init.prefixLength)));
  for (let pos = 0; pos < init.prefixLength; ) {
    const n = readSync(init.fd, buf, 0, Math.min(buf.length, init.prefixLength - pos), pos);
    if (n === 0) throw Object.assign(new Error(`part file ended at ${pos} while hashing its first ${init.prefixLength} bytes`), { code: 'ESHORT' });
    hash.update(buf.subarray(0, n));
    pos += n;
  }
}

try {
  hashPrefix();
  post({ type: 'ready' });
} catch (err) {
  failed = true;
  post({ type: 'failed', error: errorOf(err) });
}

port.on('message', (msg: SinkToWorker) => {
  switch (msg.type) {
    case 'write': {
      let error: SinkError | undefined;
      let failedId = -1;
      for (const c of msg.chunks) {
        if (failed) {
          error ??= { message: 'an earlier write to the part file failed', code: undefined };
          if (failedId < 0) failedId = c.id;
          continue;
        }
        const chunk = Buffer.from(c.data, 0, c.length);
        try {
          for (let done = 0; done < chunk.length; ) done += writeSync(init.fd, chunk, done, chunk.length - done, c.position + done);
          hash.update(chunk);
        } catch (err) {
          // The hash now lacks this chunk: nothing after it may be accepted.
          failed = true;
          error = errorOf(err);
          failedId = c.id;
        }
      }
      const data = msg.chunks.map((c) => c.data);
      post({ type: 'written', ids: msg.chunks.map((c) => c.id), data, error, failedId }, data);
      break;
    }
    case 'digest':
      post({ type: 'digest', hex: hash.digest('hex') });
      break;
  }
});
