import type { Logger } from 'pino';
import { extractArchive } from '../archive/extract.js';
import type { JobDoc, RecordCount } from '../db/jobs.js';
import { applyImport, planImport } from '../importer/index.js';
import type { PipelineContext } from './context.js';

export interface ImportFacts {
  fileCount: number;
  recordCounts: RecordCount[];
  totalRecords: number;
  /** Records (per collection) and media (`media.files`) not written because retention destroyed them. */
  skippedTombstoned: Record<string, number>;
}

/**
 * Extract → verify everything (planImport reads every record before any write) → import.
 * A bad archive throws before the first database write, so nothing half-imported is ever visible.
 */
export async function importArchive(ctx: PipelineContext, job: JobDoc, archivePath: string): Promise<ImportFacts> {
  const { config, staging } = ctx;
  const log = ctx.log.child({ component: 'import', jobId: job.jobId, fileName: job.fileName });
  const dir = staging.extractDir(job.jobId);
  await staging.removeExtract(job.jobId);
  try {
    const progress = throttled(log, 5000);
    const extracted = await extractArchive(archivePath, dir, {
      password: config.archive.key,
      allowUnencrypted: config.archive.allowUnencrypted,
      limits: { maxEntries: config.archive.maxEntries, maxTotalBytes: config.archive.maxTotalBytes, maxEntryRatio: config.archive.maxEntryRatio },
      log,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (p) => progress(p, 'extracting'),
    });
    log.info({ entries: extracted.entries.length, bytes: extracted.totalBytes }, 'archive extracted and verified');
    const plan = await planImport(dir, extracted.entries, log);
    log.info({ recordFiles: plan.recordFiles.length, records: plan.totalRecords, binaries: plan.binaries.length }, 'records verified; importing');
    // Never interleaved with a retention batch on this process (docs/retention.md).
    const write = () => applyImport(ctx.db, dir, plan, { jobId: job.jobId, archive: job.fileName }, {
      batchSize: config.mongodb.batchSize,
      wtimeoutMs: config.mongodb.writeConcernTimeoutMs,
      log,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (p) => progress(p, 'importing'),
    });
    const result = ctx.recordWrites ? await ctx.recordWrites.run(write) : await write();
    log.info({ records: result.records, files: result.files }, 'import acknowledged by a majority');
    return {
      fileCount: extracted.entries.length,
      recordCounts: Object.entries(result.recordCounts).map(([collection, records]) => ({ collection, records })),
      totalRecords: result.records,
      skippedTombstoned: result.skippedTombstoned,
    };
  } finally {
    await staging.removeExtract(job.jobId);
  }
}

/** Logs progress at most once per `everyMs` (long steps must show they are alive, without flooding the log). */
function throttled(log: Logger, everyMs: number): (fields: object, msg: string) => void {
  let last = 0;
  return (fields, msg) => {
    if (Date.now() - last < everyMs) return;
    last = Date.now();
    log.info(fields, msg);
  };
}
