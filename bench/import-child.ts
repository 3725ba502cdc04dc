/**
 * One timed import for bench/import.ts in a fresh Node process (child-job.ts): the peers' parsed documents, hundreds
 * of MiB of live heap in the bench's process, would otherwise slow our garbage collections. planImport + applyImport
 * of the job's file into its database.
 */
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { applyImport, planImport, type ImportEntry } from '../proxy/importer/index.js';
import { serveChildJob } from './child-job.js';
import { IMPORT_BENCH_JOB } from './import.js';

export interface ImportChildJob {
  mongoUri: string;
  database: string;
  dir: string;
  entries: ImportEntry[];
  batchSize: number;
  wtimeoutMs: number;
}

export interface ImportChildResult {
  ms: number;
  planMs: number;
  records: number;
  stored: number;
}

serveChildJob<ImportChildJob, ImportChildResult>('import bench child', async (job) => {
  const client = new MongoClient(job.mongoUri);
  await client.connect();
  try {
    const db = client.db(job.database);
    const log = pino({ level: 'silent' });
    const started = performance.now();
    const plan = await planImport(job.dir, job.entries, log);
    const planMs = performance.now() - started;
    const result = await applyImport(db, job.dir, plan, IMPORT_BENCH_JOB, { batchSize: job.batchSize, wtimeoutMs: job.wtimeoutMs, log });
    const ms = performance.now() - started;
    const stored = await db.collection('history.messages').countDocuments();
    return { ms, planMs, records: result.records, stored };
  } finally {
    await client.close();
  }
});
