import { extractArchive } from '../archive/extract.js';
import type { JobDoc, RecordCount } from '../db/jobs.js';
import { applyImport, planImport } from '../importer/index.js';
import { entryKind } from '../importer/entry-mapping.js';
import type { PipelineContext } from './context.js';
import { watchReserve } from '../util/free-space.js';
import { JobProgress } from './progress.js';

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
  const progress = new JobProgress(ctx.progress, job.fileName);
  try {
    progress.stage('extract');
    const extracted = await extractArchive(archivePath, dir, {
      password: config.archive.key,
      allowUnencrypted: config.archive.allowUnencrypted,
      limits: { maxEntries: config.archive.maxEntries, maxTotalBytes: config.archive.maxTotalBytes, maxEntryRatio: config.archive.maxEntryRatio },
      log,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (p) => progress.update({ entries: { done: p.entries, total: p.totalEntries }, bytes: { done: p.bytes, total: p.totalBytes } }, p.entries === p.totalEntries),
      disk: staging.reserve(config.staging.minFreeBytes),
      // A day holds thousands of small media files: held in memory (bounded), they cost no file creation, no read
      // back for the plan's hash and none for the upload. Record files and the manifest are always written.
      keepInMemory: { maxBytes: config.staging.memoryBytes, accept: (path) => entryKind(path) === 'binary' },
    });
    log.info({ entries: extracted.entries.length, bytes: extracted.totalBytes }, 'archive extracted and verified');
    progress.stage('verify', { files: { done: 0, total: extracted.entries.length } });
    const plan = await planImport(dir, extracted.entries, log, {
      archive: { serviceId: job.serviceId, jobId: job.jobId, createdAt: job.archiveCreatedAt },
      requireManifest: config.archive.requireManifest,
    });
    log.info({ recordFiles: plan.recordFiles.length, records: plan.totalRecords, binaries: plan.binaries.length }, 'records verified; importing');
    const totalFiles = plan.binaries.length;
    progress.stage('import', { records: { done: 0, total: plan.totalRecords }, files: { done: 0, total: totalFiles } });
    // The reserve holds while the database writes too: on the single-VM layout MongoDB may share the staging disk.
    const reserveBreached = new AbortController();
    let breach: Error | undefined;
    const stopWatching = watchReserve(dir, staging.reserve(config.staging.minFreeBytes), (err) => {
      breach = err;
      reserveBreached.abort(err);
    });
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, reserveBreached.signal]) : reserveBreached.signal;
    // Never interleaved with a retention batch on this process (docs/retention.md).
    const write = () => applyImport(ctx.db, dir, plan, { jobId: job.jobId, archive: job.fileName }, {
      batchSize: config.mongodb.batchSize,
      ...(ctx.jobs.fence ? { fence: ctx.jobs.fence } : {}),
      wtimeoutMs: config.mongodb.writeConcernTimeoutMs,
      log,
      signal,
      onProgress: (p) => progress.update({ records: { done: p.records, total: plan.totalRecords }, files: { done: p.files, total: totalFiles } }),
    });
    const result = await (ctx.recordWrites ? ctx.recordWrites.run(write) : write()).catch((err: unknown) => {
      throw breach ?? err;
    }).finally(stopWatching);
    log.info({ records: result.records, files: result.files }, 'import acknowledged by a majority');
    return {
      fileCount: extracted.entries.length,
      recordCounts: Object.entries(result.recordCounts).map(([collection, records]) => ({ collection, records })),
      totalRecords: result.records,
      skippedTombstoned: result.skippedTombstoned,
    };
  } finally {
    progress.finish();
    await staging.removeExtract(job.jobId);
  }
}
