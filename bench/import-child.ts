/**
 * One timed import for bench/import.ts, in a fresh Node process (the peers' parsed documents, hundreds of MiB of
 * live heap in the bench's process, would otherwise slow our garbage collections): planImport + applyImport of the
 * job in RP_BENCH_IMPORT_JOB into its database; prints {ms, planMs, records, stored} as JSON.
 */
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { applyImport, planImport, type ImportEntry } from '../proxy/importer/index.js';

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

async function main(): Promise<void> {
  const job = JSON.parse(process.env.RP_BENCH_IMPORT_JOB ?? '') as ImportChildJob;
  const client = new MongoClient(job.mongoUri);
  await client.connect();
  try {
    const db = client.db(job.database);
    const log = pino({ level: 'silent' });
    const started = performance.now();
    const plan = await planImport(job.dir, job.entries, log);
    const planMs = performance.now() - started;
    const result = await applyImport(db, job.dir, plan, { jobId: 'bench-job', archive: 'bench.zip' }, { batchSize: job.batchSize, wtimeoutMs: job.wtimeoutMs, log });
    const ms = performance.now() - started;
    const stored = await db.collection('history.messages').countDocuments();
    const out: ImportChildResult = { ms, planMs, records: result.records, stored };
    process.stdout.write(JSON.stringify(out));
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`import bench child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
