/**
 * One timed import for bench/diy.ts's import stage in a fresh Node process (child-job.ts), as the script's import is
 * one: planImport (reads, parses and hashes every record file and binary, checks the manifest) + applyImport (records
 * and GridFS media, majority write concern) of an extracted archive, as the pipeline's import step runs them.
 */
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { applyImport, planImport, type ImportEntry } from '../proxy/importer/index.js';
import { serveChildJob } from './child-job.js';

export interface DiyImportChildJob {
  mongoUri: string;
  database: string;
  dir: string;
  entries: ImportEntry[];
  jobId: string;
  archive: string;
  serviceId: string;
  createdAt: string;
}

export interface DiyImportChildResult {
  ms: number;
  planMs: number;
  records: number;
  files: number;
}

serveChildJob<DiyImportChildJob, DiyImportChildResult>('diy import bench child', async (job) => {
  const client = new MongoClient(job.mongoUri);
  await client.connect();
  try {
    const db = client.db(job.database);
    const log = pino({ level: 'silent' });
    const started = performance.now();
    const plan = await planImport(job.dir, job.entries, log, {
      archive: { serviceId: job.serviceId, jobId: job.jobId, createdAt: new Date(job.createdAt) },
      requireManifest: true,
    });
    const planMs = performance.now() - started;
    const result = await applyImport(db, job.dir, plan, { jobId: job.jobId, archive: job.archive }, { wtimeoutMs: 60_000, log });
    return { ms: performance.now() - started, planMs, records: result.records, files: result.files };
  } finally {
    await client.close();
  }
});
