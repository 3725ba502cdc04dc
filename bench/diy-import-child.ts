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
  /** Collect each applyImport step's time (a debug-level logger; bench/year.ts). Off: a silent logger, as before. */
  steps?: boolean;
}

export interface DiyImportChildResult {
  ms: number;
  planMs: number;
  records: number;
  files: number;
  /** Seconds per step of applyImport (records, identities, call times, room statistics, media), with `steps`. */
  steps: Record<string, number>;
}

serveChildJob<DiyImportChildJob, DiyImportChildResult>('diy import bench child', async (job) => {
  const client = new MongoClient(job.mongoUri);
  await client.connect();
  try {
    const db = client.db(job.database);
    // applyImport logs each step's time at debug level; nothing else is kept.
    const steps: Record<string, number> = {};
    // Each record file's share of the records step: from the previous file's (or the plan's) end to its own.
    let mark = 0;
    const log = pino({ level: job.steps === true ? 'debug' : 'silent' }, {
      write: (line: string) => {
        const o = JSON.parse(line) as { msg?: unknown; step?: unknown; ms?: unknown; collection?: unknown };
        if (o.msg === 'import step done' && typeof o.step === 'string' && typeof o.ms === 'number') steps[o.step] = o.ms / 1000;
        if (o.msg === 'record file queued' && typeof o.collection === 'string') {
          const now = performance.now();
          steps[`  ${o.collection}`] = (steps[`  ${o.collection}`] ?? 0) + (now - mark) / 1000;
          mark = now;
        }
      },
    });
    const started = performance.now();
    const plan = await planImport(job.dir, job.entries, log, {
      archive: { serviceId: job.serviceId, jobId: job.jobId, createdAt: new Date(job.createdAt) },
      requireManifest: true,
    });
    const planMs = performance.now() - started;
    mark = performance.now();
    const result = await applyImport(db, job.dir, plan, { jobId: job.jobId, archive: job.archive }, { wtimeoutMs: 60_000, log });
    return { ms: performance.now() - started, planMs, records: result.records, files: result.files, steps };
  } finally {
    await client.close();
  }
});
