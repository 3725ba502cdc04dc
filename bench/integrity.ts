import { createHash, randomBytes } from 'node:crypto';
import { Binary, MongoClient, type Db, type Document } from 'mongodb';
import { MEDIA_BUCKET } from '../proxy/importer/index.js';
import { stampRecord } from '../proxy/importer/record-document.js';
import { RECORD_COLLECTIONS } from '../proxy/portal/queries/types.js';
import { runChildJob } from './child-job.js';
import type { IntegrityChildJob, IntegrityChildResult } from './integrity-child.js';
import type { BenchContext, BenchRow } from './types.js';

/**
 * Fixity sweep (issue 10): one database with N records (100 000 x BENCH_SCALE; 70% messages, 30% calls, plus one
 * file record per media file) and BENCH_MEDIA_GIB GiB of GridFS media (default 2 x BENCH_SCALE, at most 2) in files of BENCH_MEDIA_FILE_MIB
 * MiB (default 512), stored as the importer stores them. Two figures, each in a fresh Node process:
 * - throughput: our sweep (FixitySweep.run with no pause: records, media, orphan chunks, tombstones, audit chain,
 *   checkpoints) against a peer that reads the same records and GridFS files with the bare driver and hashes them
 *   the same way (the same canonical record hash; SHA-256 over each file's chunks in order). Target >= 0.8x.
 * - the sweep's peak RSS (`process.resourceUsage().maxRSS` of its process). Target <= 300 MiB.
 * Both must have read the same records, files and bytes and found no problem.
 */

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const CHUNK_SIZE = 255 * 1024;
const CHUNKS_PER_INSERT = 16;
const RECORDS_PER_INSERT = 1000;
const JOB = { jobId: '5c0f3a1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b', archive: 'backup_svc1001_5c0f3a1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b_20260301020000.zip' };

const round1 = (n: number): number => Math.round(n * 10) / 10;

async function fillRecords(db: Db, n: number): Promise<void> {
  const at = Date.UTC(2026, 1, 28);
  const types = [
    { collection: RECORD_COLLECTIONS.messages, count: Math.round(n * 0.7), make: (i: number): Document => ({ messageId: `m${i}`, roomId: `room-${i % 97}`, sender: { kind: 'staff', id: `s${i % 13}` }, type: 'text', text: `message ${i} ${'lorem ipsum '.repeat(i % 20)}`, sentAt: new Date(at + i * 1000) }) },
    { collection: RECORD_COLLECTIONS.calls, count: n - Math.round(n * 0.7), make: (i: number): Document => ({ callId: `k${i}`, roomId: `room-${i % 97}`, from: { kind: 'staff', id: `s${i % 13}`, number: `10${i % 100}` }, to: { kind: 'contact', id: `c${i % 17}`, number: `+4930${i}` }, startedAt: new Date(at + i * 1000), durationSec: i % 3600 }) },
  ];
  for (const t of types) {
    const entry = `${t.collection.replace('.', '/')}.json`;
    for (let i = 0; i < t.count; i += RECORDS_PER_INSERT) {
      const docs: Document[] = [];
      for (let j = i; j < Math.min(t.count, i + RECORDS_PER_INSERT); j++) docs.push(stampRecord(t.make(j), JOB, entry));
      await db.collection(t.collection).insertMany(docs, { ordered: false });
    }
  }
}

/** Media files of `fileBytes` each (the last one shorter) up to `totalBytes`, chunk by chunk; memory stays small. */
async function fillMedia(db: Db, totalBytes: number, fileBytes: number, log: (m: string) => void): Promise<number> {
  const base = randomBytes(8 * MiB);
  const files = Math.ceil(totalBytes / fileBytes);
  const chunks = db.collection(`${MEDIA_BUCKET}.chunks`);
  await chunks.createIndex({ files_id: 1, n: 1 }, { unique: true });
  const fileRecords: Document[] = [];
  for (let f = 0; f < files; f++) {
    const length = Math.min(fileBytes, totalBytes - f * fileBytes);
    const id = `bench/room-file/f${f}.bin`;
    const hash = createHash('sha256');
    let batch: Document[] = [];
    for (let n = 0; n * CHUNK_SIZE < length; n++) {
      const size = Math.min(CHUNK_SIZE, length - n * CHUNK_SIZE);
      const offset = ((f * 7919 + n * 104_729) % (base.length - CHUNK_SIZE - 8)) & ~7;
      const data = Buffer.from(base.subarray(offset, offset + size));
      data.writeUInt32BE(f, 0);
      data.writeUInt32BE(n, 4);
      hash.update(data);
      batch.push({ files_id: id, n, data: new Binary(data) });
      if (batch.length === CHUNKS_PER_INSERT) {
        await chunks.insertMany(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await chunks.insertMany(batch);
    const sha256 = hash.digest('hex');
    const uploadDate = new Date(Date.UTC(2026, 1, 28, 12));
    await db.collection(`${MEDIA_BUCKET}.files`).insertOne({ _id: id, length, chunkSize: CHUNK_SIZE, uploadDate, filename: id, metadata: { sha256, size: length, archive: JOB.archive } } as unknown as Document);
    fileRecords.push(stampRecord({ fileId: `f${f}`, category: 'room-file', name: `f${f}.bin`, size: length, sha256, storagePath: id, roomId: `room-${f % 97}`, uploadedAt: uploadDate }, JOB, 'file-management/files.json'));
    log(`integrity: media file ${f + 1}/${files} (${(length / MiB).toFixed(0)} MiB)`);
  }
  await db.collection('file-management.files').insertMany(fileRecords);
  return files;
}

export async function benchIntegrity(ctx: BenchContext, mongoUri: string): Promise<BenchRow[]> {
  const records = Math.max(2000, Math.round(100_000 * ctx.scale));
  const mediaBytes = Math.round(Number(process.env.BENCH_MEDIA_GIB ?? 2 * Math.min(1, ctx.scale)) * GiB);
  const fileBytes = Math.round(Number(process.env.BENCH_MEDIA_FILE_MIB ?? 512) * MiB);
  const database = `bench_integrity_${Date.now().toString(36)}`;
  const client = new MongoClient(mongoUri);
  await client.connect();
  try {
    const db = client.db(database);
    const f0 = performance.now();
    await fillRecords(db, records);
    ctx.log(`integrity: ${records} records in ${((performance.now() - f0) / 1000).toFixed(1)} s`);
    const files = await fillMedia(db, mediaBytes, fileBytes, ctx.log);
    ctx.log(`integrity: ${(mediaBytes / GiB).toFixed(2)} GiB of media in ${files} files; filled in ${((performance.now() - f0) / 1000).toFixed(1)} s`);

    const job = (mode: IntegrityChildJob['mode']): Promise<IntegrityChildResult> => runChildJob<IntegrityChildResult>('integrity-child.js', { mongoUri, database, mode, pauseMs: 0 } satisfies IntegrityChildJob);
    const peer = await job('peer');
    ctx.log(`integrity: peer ${JSON.stringify(peer)}`);
    const ours = await job('sweep');
    ctx.log(`integrity: sweep ${JSON.stringify(ours)}`);
    const expected = { records: records + files, mediaFiles: files, mediaBytes, problems: 0 };
    for (const [who, r] of [['sweep', ours], ['peer', peer]] as const) {
      const got = { records: r.records, mediaFiles: r.mediaFiles, mediaBytes: r.mediaBytes, problems: r.problems };
      if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${who} read ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
    }
    const rate = (r: IntegrityChildResult): string => `${(r.records / (r.ms / 1000)).toFixed(0)} records/s + ${(r.mediaBytes / MiB / (r.ms / 1000)).toFixed(1)} MiB/s of media (${(r.ms / 1000).toFixed(1)} s)`;
    const what = `${records + files} records + ${(mediaBytes / GiB).toFixed(2)} GiB media in ${files} files`;
    const rssMiB = ours.maxRssKiB / 1024;
    return [
      {
        group: 'integrity', name: `fixity sweep, ${what} (no pause)`,
        ours: rate(ours), peer: `${rate(peer)} (bare driver, same hashes)`,
        ratio: peer.ms / ours.ms, target: '>= 0.8x', pass: ours.ms * 0.8 <= peer.ms,
        raw: { records: records + files, mediaFiles: files, mediaBytes, oursMs: round1(ours.ms), peerMs: round1(peer.ms) },
      },
      {
        group: 'integrity', name: `peak RSS of the fixity sweep, ${what}`,
        ours: `${rssMiB.toFixed(0)} MiB`, peer: `${(peer.maxRssKiB / 1024).toFixed(0)} MiB (the peer's process)`,
        ratio: null, target: '<= 300 MiB', pass: rssMiB <= 300,
        raw: { mediaBytes, oursMaxRssKiB: ours.maxRssKiB, peerMaxRssKiB: peer.maxRssKiB },
      },
    ];
  } finally {
    await client.db(database).dropDatabase().catch(() => undefined);
    await client.close();
  }
}
