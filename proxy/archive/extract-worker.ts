/**
 * Extraction worker thread: extracts the entries the main thread sends (several at a time), each with its own
 * decrypt / inflate / hash pipeline, so decryption and hashing of different entries run on different cores.
 * Reads the archive through the main thread's descriptor; the byte budget is shared memory.
 */
import { read } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { PositionalReader } from './central-directory.js';
import { extractEntryFile, type EntryFileContext } from './entry-file.js';
import { ByteBudget } from './plaintext-verifier.js';
import { serializeError, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('extract-worker.js must run as a worker thread');
const init = workerData as WorkerInit;

const reader: PositionalReader = {
  read: (buffer, offset, length, position) =>
    new Promise((resolve, reject) => {
      read(init.fd, buffer, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead })));
    }),
};
const stop = new AbortController();
const ctx: EntryFileContext = {
  reader,
  password: init.password,
  budget: new ByteBudget(init.limit, init.budget),
  signal: stop.signal,
  inMemoryBytes: init.inMemoryBytes,
};

const post = (msg: FromWorker): void => port.postMessage(msg);

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'entry':
      extractEntryFile(ctx, msg.entry, msg.target, msg.keep).then(
        (result) => post({ type: 'done', id: msg.id, result }),
        (err: unknown) => post({ type: 'failed', id: msg.id, error: serializeError(err) }),
      );
      break;
    case 'abort':
      stop.abort();
      break;
  }
});
