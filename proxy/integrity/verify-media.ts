import { createHash, type Hash } from 'node:crypto';
import { BSON, type Db, type Document, type Filter } from 'mongodb';
import { MEDIA_BUCKET } from '../importer/index.js';
import type { ProblemSink, VerifyCounts } from './problems.js';

const FILES = `${MEDIA_BUCKET}.files`;
const CHUNKS = `${MEDIA_BUCKET}.chunks`;
/** Chunks are 255 KiB by default: 16 of them per cursor batch keeps about 4 MiB in memory. */
const CHUNK_BATCH = 16;
const ID_BATCH = 500;

interface FileDoc { _id: unknown; length?: unknown; chunkSize?: unknown; metadata?: { sha256?: unknown } }

/** Files whose chunks are read by one query (`files_id: {$in: ...}`): on MongoDB an index scan per file in key
 * order; on FerretDB's SQLite backend, which pushes no filter down, one scan of the chunks per batch instead of one
 * per file (a per-file query made the sweep O(files x media bytes) there). */
const FILE_BATCH = 10;

/**
 * Re-hashes every GridFS file of the media bucket matching `filter` from its chunks, in order: reports missing (a
 * chunk absent, a gap in `n`, chunks ending short of `length`), changed (a chunk of the wrong size, or sha256 differs
 * from `metadata.sha256`) and untracked (no `metadata.sha256`). The chunks of a batch of files are read by one
 * cursor in small batches and hashed as they come; a file whose chunks do not come in order of `n` with the expected
 * sizes (a gap, a duplicate, a wrong size, or a server that returns them in another order) is read again on its own,
 * in order, which names its problem exactly. Memory holds one hash state per file of the batch.
 */
export async function verifyMediaFiles(
  db: Db, filter: Filter<Document>, sink: ProblemSink, counts: VerifyCounts, onBytes?: () => void,
  /** The fixity sweep: files in `_id` order, and a call after each file (checkpoint, throttle). */
  afterFile?: (id: unknown) => Promise<void>,
): Promise<void> {
  const cursor = db.collection(FILES).find(filter, { batchSize: 100, projection: { length: 1, chunkSize: 1, 'metadata.sha256': 1 }, ...(afterFile ? { sort: { _id: 1 } } : {}) });
  const batch: FileDoc[] = [];
  const run = async (): Promise<void> => {
    await verifyFileBatch(db, batch.splice(0), sink, counts, onBytes, afterFile);
  };
  for await (const raw of cursor) {
    batch.push(raw);
    if (batch.length >= FILE_BATCH) await run();
  }
  if (batch.length > 0) await run();
}

interface Streaming { file: FileDoc; expected: number; chunkSize: number; length: number; next: number; bytes: number; hash: Hash; inOrder: boolean }

const idKey = (id: unknown): string => (typeof id === 'string' ? `s:${id}` : BSON.EJSON.stringify(id, { relaxed: false }));

async function verifyFileBatch(db: Db, files: FileDoc[], sink: ProblemSink, counts: VerifyCounts, onBytes?: () => void, afterFile?: (id: unknown) => Promise<void>): Promise<void> {
  const state = new Map<string, Streaming>();
  for (const file of files) {
    const length = Number(file.length);
    const chunkSize = Number(file.chunkSize);
    const valid = Number.isSafeInteger(length) && length >= 0 && Number.isSafeInteger(chunkSize) && chunkSize > 0;
    // An invalid files document, or two with one _id (impossible on a real collection), takes the per-file path.
    if (valid && !state.has(idKey(file._id))) state.set(idKey(file._id), { file, expected: Math.ceil(length / chunkSize), chunkSize, length, next: 0, bytes: 0, hash: createHash('sha256'), inOrder: true });
  }
  if (state.size > 0) {
    const chunks = db.collection(CHUNKS).find({ files_id: { $in: [...state.values()].map((s) => s.file._id) } }, { batchSize: CHUNK_BATCH, projection: { files_id: 1, n: 1, data: 1 } });
    try {
      for await (const chunk of chunks) {
        const s = state.get(idKey(chunk.files_id));
        if (!s?.inOrder) continue;
        const data = chunk.data instanceof BSON.Binary ? chunk.data.buffer : Buffer.isBuffer(chunk.data) ? chunk.data : undefined;
        const want = s.next < s.expected - 1 ? s.chunkSize : s.length - s.chunkSize * (s.expected - 1);
        if (Number(chunk.n) !== s.next || s.next >= s.expected || data?.length !== want) {
          s.inOrder = false; // read again on its own below: that names the problem
          continue;
        }
        s.hash.update(data);
        s.bytes += data.length;
        s.next++;
        onBytes?.();
      }
    } finally {
      await chunks.close();
    }
  }
  for (const file of files) {
    counts.mediaFiles++;
    const s = state.get(idKey(file._id));
    if (s?.file === file && s.inOrder && s.next === s.expected) {
      counts.mediaBytes += s.bytes;
      checkHash(file, s.hash.digest('hex'), sink);
    } else {
      await verifyOneFile(db, file, sink, counts, onBytes);
    }
    await afterFile?.(file._id);
  }
}

function checkHash(file: FileDoc, computed: string, sink: ProblemSink): void {
  const id = String(file._id);
  const recorded = file.metadata?.sha256;
  if (typeof recorded !== 'string') sink({ kind: 'untracked', area: 'media', collection: FILES, id, detail: 'files document without metadata.sha256', computed });
  else if (recorded !== computed) sink({ kind: 'changed', area: 'media', collection: FILES, id, detail: 'content does not match metadata.sha256', recorded, computed });
}

async function verifyOneFile(db: Db, file: FileDoc, sink: ProblemSink, counts: VerifyCounts, onBytes?: () => void): Promise<void> {
  const id = String(file._id);
  const report = (kind: 'missing' | 'changed' | 'untracked', detail: string, recorded?: string, computed?: string): void =>
    sink({ kind, area: 'media', collection: FILES, id, detail, ...(recorded === undefined ? {} : { recorded }), ...(computed === undefined ? {} : { computed }) });
  const length = Number(file.length);
  const chunkSize = Number(file.chunkSize);
  if (!Number.isSafeInteger(length) || length < 0 || !Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
    report('changed', `files document has an invalid length (${String(file.length)}) or chunkSize (${String(file.chunkSize)})`);
    return;
  }
  const expectedChunks = Math.ceil(length / chunkSize);
  const hash = createHash('sha256');
  let n = 0;
  let bytes = 0;
  const chunks = db.collection(CHUNKS).find({ files_id: file._id }, { sort: { n: 1 }, batchSize: CHUNK_BATCH, projection: { n: 1, data: 1 } });
  try {
    for await (const chunk of chunks) {
      const cn = Number(chunk.n);
      if (cn !== n) {
        report('missing', cn > n ? `chunk ${String(n)} of ${String(expectedChunks)} is missing` : `chunk ${String(cn)} is stored twice`);
        return;
      }
      const data = chunk.data instanceof BSON.Binary ? chunk.data.buffer : Buffer.isBuffer(chunk.data) ? chunk.data : undefined;
      const want = n < expectedChunks - 1 ? chunkSize : length - chunkSize * (expectedChunks - 1);
      if (data === undefined || n >= expectedChunks || data.length !== want) {
        report('changed', n >= expectedChunks ? `chunk ${String(n)} is beyond the file's length ${String(length)}` : `chunk ${String(n)} holds ${String(data?.length ?? 0)} bytes, expected ${String(want)}`);
        return;
      }
      hash.update(data);
      bytes += data.length;
      counts.mediaBytes += data.length;
      onBytes?.();
      n++;
    }
  } finally {
    await chunks.close();
  }
  if (n < expectedChunks) {
    report('missing', n === 0 ? `all ${String(expectedChunks)} chunks are missing` : `chunks ${String(n)}..${String(expectedChunks - 1)} are missing (${String(bytes)} of ${String(length)} bytes stored)`);
    return;
  }
  checkHash(file, hash.digest('hex'), sink);
}

/** Chunks whose files document is gone (untracked): one pass over the chunks' files_id in index order. */
export async function verifyOrphanChunks(db: Db, sink: ProblemSink): Promise<void> {
  // Without _id the projection is covered by the files_id_1_n_1 index on MongoDB: the chunks' data is not read again.
  const cursor = db.collection(CHUNKS).find({}, { projection: { _id: 0, files_id: 1 }, sort: { files_id: 1, n: 1 }, batchSize: 1000 });
  let last: string | undefined;
  let pending = new Map<string, { id: unknown; chunks: number }>();
  for await (const chunk of cursor) {
    const key = BSON.EJSON.stringify(chunk.files_id as BSON.Document, { relaxed: false });
    const entry = pending.get(key);
    if (entry) entry.chunks++;
    else {
      if (key !== last && pending.size >= ID_BATCH) {
        await reportOrphans(db, pending, sink);
        pending = new Map();
      }
      pending.set(key, { id: chunk.files_id, chunks: 1 });
    }
    last = key;
  }
  if (pending.size > 0) await reportOrphans(db, pending, sink);
}

async function reportOrphans(db: Db, pending: Map<string, { id: unknown; chunks: number }>, sink: ProblemSink): Promise<void> {
  const ids = [...pending.values()].map((p) => p.id);
  const found = await db.collection(FILES).find({ _id: { $in: ids } } as Filter<Document>, { projection: { _id: 1 } }).toArray();
  const present = new Set(found.map((f) => BSON.EJSON.stringify(f._id as BSON.Document, { relaxed: false })));
  for (const [key, p] of pending) {
    if (present.has(key)) continue;
    sink({ kind: 'untracked', area: 'media', collection: CHUNKS, id: typeof p.id === 'string' ? p.id : key, detail: `${String(p.chunks)} chunk(s) without a files document` });
  }
}
