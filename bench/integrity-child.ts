/**
 * One timed pass for bench/integrity.ts in a fresh Node process (child-job.ts), so that its peak RSS is its own:
 * - `sweep`: our fixity sweep (FixitySweep.run: every record collection, the media bucket, orphan chunks,
 *   tombstones, the audit chain; checkpoints and problem documents as in the daemon), with the job's pause;
 * - `peer`: the same documents and GridFS files read with the bare driver and hashed the same way: each record
 *   collection by one cursor (batches of 500, the same canonical record hash), each media file's chunks by
 *   `find({files_id}).sort({n: 1})` into SHA-256, compared with `metadata.sha256`.
 * Prints what it read, how long it took and `process.resourceUsage().maxRSS`.
 */
import { createHash } from 'node:crypto';
import { BSON, MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { MEDIA_BUCKET } from '../proxy/importer/index.js';
import { EXACT_READ, storedRecordHash } from '../proxy/integrity/record-hash.js';
import { FixitySweep, SWEEP_PROBLEMS_COLLECTION, SWEEPS_COLLECTION } from '../proxy/integrity/sweep.js';
import { recordCollections } from '../proxy/integrity/verify-records.js';
import { serveChildJob } from './child-job.js';

export interface IntegrityChildJob {
  mongoUri: string;
  database: string;
  mode: 'sweep' | 'peer';
  pauseMs: number;
}

export interface IntegrityChildResult {
  ms: number;
  records: number;
  mediaFiles: number;
  mediaBytes: number;
  problems: number;
  maxRssKiB: number;
}

async function peer(db: Db): Promise<Omit<IntegrityChildResult, 'ms' | 'maxRssKiB'>> {
  const out = { records: 0, mediaFiles: 0, mediaBytes: 0, problems: 0 };
  for (const name of await recordCollections(db)) {
    for await (const doc of db.collection(name).find({}, { ...EXACT_READ, batchSize: 500 })) {
      out.records++;
      const { recorded, computed } = storedRecordHash(doc);
      if (recorded !== computed) out.problems++;
    }
  }
  const chunks = db.collection(`${MEDIA_BUCKET}.chunks`);
  for await (const file of db.collection(`${MEDIA_BUCKET}.files`).find({}, { batchSize: 100, projection: { 'metadata.sha256': 1 } })) {
    out.mediaFiles++;
    const hash = createHash('sha256');
    for await (const chunk of chunks.find({ files_id: file._id }, { sort: { n: 1 }, batchSize: 16, projection: { data: 1 } })) {
      const data = (chunk.data as BSON.Binary).buffer;
      hash.update(data);
      out.mediaBytes += data.length;
    }
    if (hash.digest('hex') !== (file.metadata as { sha256?: string } | undefined)?.sha256) out.problems++;
  }
  return out;
}

async function sweep(db: Db, pauseMs: number): Promise<Omit<IntegrityChildResult, 'ms' | 'maxRssKiB'>> {
  const done = await new FixitySweep(db, { node: 'bench', pauseMs, shouldStop: () => false, log: pino({ level: 'silent' }) }).run();
  if (!done) throw new Error('the sweep stopped before its end');
  const problems = Object.values(done.problemCounts ?? {}).reduce((a, b) => a + b, 0);
  return { records: done.counts.records, mediaFiles: done.counts.mediaFiles, mediaBytes: done.counts.mediaBytes, problems };
}

serveChildJob<IntegrityChildJob, IntegrityChildResult>('integrity bench child', async (job) => {
  const client = new MongoClient(job.mongoUri);
  await client.connect();
  try {
    const db = client.db(job.database);
    if (job.mode === 'sweep') {
      // Each timed sweep starts a new run (not a resume of the last one).
      await db.collection(SWEEPS_COLLECTION).deleteMany({});
      await db.collection(SWEEP_PROBLEMS_COLLECTION).deleteMany({});
    }
    const started = performance.now();
    const result = job.mode === 'sweep' ? await sweep(db, job.pauseMs) : await peer(db);
    const ms = performance.now() - started;
    return { ...result, ms, maxRssKiB: process.resourceUsage().maxRSS };
  } finally {
    await client.close();
  }
});
