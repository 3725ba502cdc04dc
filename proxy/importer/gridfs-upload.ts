import { createReadStream } from 'node:fs';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Binary, type Collection, type Document, type WriteConcernSettings } from 'mongodb';

/** The GridFS default chunk size (255 KiB), as the drivers write it. */
export const CHUNK_SIZE = 255 * 1024;
/** Chunks per insert command: about 4 MiB, so memory stays flat whatever the file size. */
const CHUNKS_PER_INSERT = 16;

export interface GridFsUpload {
  id: string;
  /** The file to store, or its bytes when they are already in memory (`data`, then `path` is not read). */
  path: string;
  data?: Buffer;
  metadata: Document;
  /** Fields stamped on every chunk (HA: the writer's fencing token, so a deposed leader's clean-up spares them). */
  chunkFields: Document;
  /** Sees every byte before it is stored; throws (in flush) to stop the upload before the files document. */
  verify: Transform;
  writeConcern: WriteConcernSettings;
  signal?: AbortSignal;
}

/**
 * Stores one file as GridFS does (chunks `{files_id, n, data}` of 255 KiB, then the files document `{_id, length,
 * chunkSize, uploadDate, filename, metadata}`), readable by any driver's GridFSBucket and by mongofiles, with two
 * differences from the driver's upload stream: every chunk also carries `chunkFields`, and a failed upload deletes
 * nothing (the driver's abort deletes every chunk of the id, which could be another writer's completed file). What a
 * failure leaves is removed by the next upload of the same path (media-writer.ts), fenced.
 */
export async function uploadGridFs(chunks: Collection, files: Collection, u: GridFsUpload): Promise<void> {
  let n = 0;
  let length = 0;
  let pending: Document[] = [];
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  const insert = async (): Promise<void> => {
    if (pending.length === 0) return;
    const docs = pending;
    pending = [];
    await chunks.insertMany(docs, { ordered: true, writeConcern: u.writeConcern });
  };
  const cut = (all: boolean): void => {
    let joined = Buffer.concat(buffered);
    while (joined.length >= CHUNK_SIZE || (all && joined.length > 0)) {
      const data = joined.subarray(0, CHUNK_SIZE);
      pending.push({ files_id: u.id, n: n++, data: new Binary(Buffer.from(data)), ...u.chunkFields });
      joined = joined.subarray(data.length);
    }
    buffered = joined.length > 0 ? [joined] : [];
    bufferedBytes = joined.length;
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      length += chunk.length;
      buffered.push(chunk);
      bufferedBytes += chunk.length;
      if (bufferedBytes >= CHUNK_SIZE) cut(false);
      if (pending.length >= CHUNKS_PER_INSERT) insert().then(() => cb(), cb);
      else cb();
    },
    final(cb) {
      cut(true);
      insert().then(() => cb(), cb);
    },
  });
  const source = u.data !== undefined ? Readable.from([u.data]) : createReadStream(u.path, { highWaterMark: CHUNK_SIZE });
  await pipeline(source, u.verify, sink, ...(u.signal ? [{ signal: u.signal }] : []));
  await files.insertOne(
    { _id: u.id as never, length, chunkSize: CHUNK_SIZE, uploadDate: new Date(), filename: u.id, metadata: u.metadata },
    { writeConcern: u.writeConcern },
  );
}

/** A pass-through that hands every chunk to `update` and runs `check` at the end (its throw fails the upload). */
export function verifying(update: (chunk: Buffer) => void, check: () => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      try {
        check();
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}
