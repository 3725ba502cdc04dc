import { fdatasync } from 'node:fs';
import type { Logger } from 'pino';
import type { SFTPWrapper } from 'ssh2';
import { ProxyError } from '../errors.js';
import { localFileError } from './local-file.js';
import { chunkBuffer, type PartSink } from './part-sink.js';
import { sftpStatusOf } from './remote-ops.js';

export interface TransferParams {
  sftp: SFTPWrapper;
  handle: Buffer;
  remotePath: string;
  /** Local part file (raw fd, for the checkpoints' fdatasync). */
  fd: number;
  partPath: string;
  /** Writes the chunks to the part file and hashes them in file order (on its own thread when it can). */
  sink: PartSink;
  /** First byte to fetch (the resume point) and the end (the expected size). */
  start: number;
  end: number;
  /** Outstanding read requests. */
  concurrency: number;
  /** Buffers beyond `concurrency` for chunks that arrived but are not yet written/hashed in order. */
  spareBuffers: number;
  chunkSize: number;
  persistEveryBytes: number;
  onCheckpoint: ((highWaterMark: number) => Promise<void>) | undefined;
  onProgress: ((bytes: number) => void) | undefined;
  stallTimeoutMs: number;
  signal: AbortSignal | undefined;
  log: Logger;
}

const PROGRESS_LOG_MS = 5_000;
const MIB = 1024 * 1024;

/**
 * One read buffer and the byte range it currently carries. Ranges are handed out in ring order, so walking the ring
 * from `head` visits the ranges in file order: that is what keeps hashing in order with bounded memory.
 */
interface Slot {
  /** Replaced by the one the sink hands back (buffers are transferred to the sink's thread and back). */
  buf: Buffer;
  start: number;
  len: number;
  filled: number;
  /** Handed to the sink (in file order). */
  submitted: boolean;
  /** The sink wrote and hashed it. */
  stored: boolean;
  active: boolean;
}

function remoteError(err: Error, position: number, remotePath: string): ProxyError {
  return new ProxyError('SFTP_TRANSFER_FAILED', `reading ${remotePath} at ${position}: ${err.message}`, {
    cause: err,
    details: { position, sftpStatus: sftpStatusOf(err) },
  });
}

/**
 * Fetches [start, end) of the open remote handle into the part file with `concurrency` outstanding reads of
 * `chunkSize` bytes. Memory is (concurrency + spareBuffers) x chunkSize, allocated once. Resolves when every byte
 * is written and hashed and any checkpoint in flight has settled; on failure it rejects only after no write or fdatasync is still
 * using the fd and no checkpoint is in flight, so the caller may close the fd and resume from the last checkpoint.
 */
export function transferRange(p: TransferParams): Promise<void> {
  const total = p.end - p.start;
  if (total <= 0) return Promise.resolve();
  const ringSize = Math.max(1, Math.min(p.concurrency + p.spareBuffers, Math.ceil(total / p.chunkSize)));
  const slots: Slot[] = Array.from({ length: ringSize }, () => ({
    buf: chunkBuffer(p.chunkSize), start: 0, len: 0, filled: 0, submitted: false, stored: false, active: false,
  }));

  return new Promise<void>((resolve, reject) => {
    let nextIssue = p.start;
    let head = 0; // oldest range not yet released
    let tail = 0; // next slot to receive a range
    let reading = 0; // slots with a read request outstanding
    let submitIdx = 0; // next range to hand to the sink
    let hwm = p.start; // contiguous bytes written and hashed
    let received = 0;
    let failure: ProxyError | undefined;
    let settled = false;
    let fdOps = 0; // sink writes + fdatasync using the fd
    let checkpoint: Promise<void> | undefined;
    let lastCheckpoint = p.start;
    let lastActivity = Date.now();
    let lastLogAt = Date.now();
    let lastLogBytes = p.start;
    const startedAt = Date.now();

    const onAbort = (): void => fail(new ProxyError('DOWNLOAD_ABORTED', p.remotePath));
    const onClose = (): void => fail(new ProxyError('SFTP_TRANSFER_FAILED', `connection lost while reading ${p.remotePath}`));
    const tick = setInterval(onTick, Math.max(10, Math.min(1_000, Math.floor(p.stallTimeoutMs / 4))));
    p.signal?.addEventListener('abort', onAbort, { once: true });
    p.sftp.once('close', onClose);

    function onTick(): void {
      const now = Date.now();
      // Only outstanding reads can stall; waiting for our own disk or checkpoint callback is not the server's fault.
      if (reading > 0 && now - lastActivity > p.stallTimeoutMs) {
        fail(new ProxyError('SFTP_TIMEOUT', `no data from ${p.remotePath} for ${p.stallTimeoutMs} ms`, {
          details: { highWaterMark: hwm, stallTimeoutMs: p.stallTimeoutMs },
        }));
        return;
      }
      if (now - lastLogAt >= PROGRESS_LOG_MS) {
        const mibPerSec = (hwm - lastLogBytes) / MIB / ((now - lastLogAt) / 1000);
        p.log.info({ remotePath: p.remotePath, bytes: hwm, totalBytes: p.end, mibPerSec: Math.round(mibPerSec * 10) / 10 }, 'downloading');
        lastLogAt = now;
        lastLogBytes = hwm;
      }
    }

    function cleanup(): void {
      clearInterval(tick);
      p.signal?.removeEventListener('abort', onAbort);
      p.sftp.removeListener('close', onClose);
    }

    /** Settles once the fd is idle and no checkpoint is in flight. */
    function settleWhenQuiet(): void {
      if (settled || fdOps > 0 || checkpoint !== undefined) return;
      if (failure) {
        settled = true;
        reject(failure);
      } else if (hwm === p.end) {
        settled = true;
        cleanup();
        const seconds = (Date.now() - startedAt) / 1000;
        p.log.debug({ remotePath: p.remotePath, bytes: total, mibPerSec: Math.round((total / MIB / seconds) * 10) / 10 }, 'range fetched');
        resolve();
      }
    }

    function fail(err: ProxyError): void {
      if (failure || settled) return;
      failure = err;
      cleanup();
      settleWhenQuiet();
    }

    /** Hands out ranges in ring order while a buffer is free and fewer than `concurrency` reads are outstanding. */
    function fillPipeline(): void {
      while (reading < p.concurrency && nextIssue < p.end && !failure) {
        const slot = slots[tail]!;
        if (slot.active) return;
        tail = (tail + 1) % ringSize;
        if (reading === 0) lastActivity = Date.now(); // the stall clock starts with the first outstanding read
        reading++;
        assign(slot);
      }
    }

    function assign(slot: Slot): void {
      slot.start = nextIssue;
      slot.len = Math.min(p.chunkSize, p.end - nextIssue);
      slot.filled = 0;
      slot.submitted = false;
      slot.stored = false;
      slot.active = true;
      nextIssue += slot.len;
      issue(slot);
    }

    function issue(slot: Slot): void {
      const position = slot.start + slot.filled;
      try {
        p.sftp.read(p.handle, slot.buf, slot.filled, slot.len - slot.filled, position, (err, bytesRead) => {
          onRead(slot, position, err, bytesRead);
        });
      } catch (err) {
        fail(remoteError(err as Error, position, p.remotePath));
      }
    }

    function onRead(slot: Slot, position: number, err: Error | undefined, bytesRead: number): void {
      if (failure) return;
      if (err) {
        fail(remoteError(err, position, p.remotePath));
        return;
      }
      if (bytesRead === 0) {
        fail(new ProxyError('DOWNLOAD_SIZE_MISMATCH', `${p.remotePath} ended at ${position}, expected ${p.end} bytes`, {
          details: { position, expectedSize: p.end },
        }));
        return;
      }
      lastActivity = Date.now();
      received += bytesRead;
      slot.filled += bytesRead;
      p.onProgress?.(received);
      if (slot.filled < slot.len) {
        issue(slot); // short read: ask for the rest of this range
        return;
      }
      reading--;
      submitInOrder();
      fillPipeline();
    }

    /** Hands the filled ranges to the sink in file order (the hash needs them in order). */
    function submitInOrder(): void {
      for (;;) {
        const slot = slots[submitIdx]!;
        if (failure || !slot.active || slot.submitted || slot.filled < slot.len) return;
        slot.submitted = true;
        submitIdx = (submitIdx + 1) % ringSize;
        fdOps++;
        p.sink.write(slot.buf, slot.start, slot.len, (err, back) => {
          fdOps--;
          slot.buf = back;
          if (err) {
            fail(localFileError(err, `writing ${p.partPath}`));
          } else if (!failure) {
            slot.stored = true;
            lastActivity = Date.now();
            release();
          }
          if (failure) settleWhenQuiet();
        });
      }
    }

    function release(): void {
      for (;;) {
        const slot = slots[head]!;
        if (!slot.active || !slot.stored) break;
        hwm = slot.start + slot.len;
        slot.active = false;
        head = (head + 1) % ringSize;
      }
      fillPipeline(); // released buffers go straight back to work on the next ranges
      submitInOrder();
      maybeCheckpoint();
      settleWhenQuiet();
    }

    function maybeCheckpoint(): void {
      const persist = p.onCheckpoint;
      if (!persist || checkpoint || failure || hwm - lastCheckpoint < p.persistEveryBytes) return;
      const mark = hwm; // every byte below it has been written (released slots only)
      checkpoint = (async () => {
        fdOps++;
        try {
          await new Promise<void>((res, rej) => fdatasync(p.fd, (err) => (err ? rej(localFileError(err, `fdatasync ${p.partPath}`)) : res())));
        } finally {
          fdOps--;
        }
        await persist(mark);
        lastCheckpoint = mark;
      })().then(
        () => {
          checkpoint = undefined;
          maybeCheckpoint();
          settleWhenQuiet();
        },
        (err: unknown) => {
          checkpoint = undefined;
          const proxyErr = err instanceof ProxyError ? err : new ProxyError('INTERNAL', 'checkpoint failed', { cause: err });
          if (failure) settleWhenQuiet();
          else fail(proxyErr);
        },
      );
    }

    if (p.signal?.aborted) {
      onAbort();
      return;
    }
    fillPipeline();
  });
}
