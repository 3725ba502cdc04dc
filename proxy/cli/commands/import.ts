import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { requireArchiveName } from '../../archive/archive-name.js';
import { ProxyError } from '../../errors.js';
import { processJob } from '../../pipeline/process-job.js';
import { createServices } from '../../services.js';
import { peakRssKiB } from '../../util/peak-rss.js';
import { loadConfigFor, loggerFor, type CommonFlags } from '../common.js';
import { EXIT, type CliIo, type ExitCode } from '../io.js';

export interface ImportFlags extends CommonFlags { json?: boolean | undefined; force?: boolean | undefined }

/**
 * `import FILE.zip`: offline mode. The archive goes through the same job state machine (verify, extract, import)
 * without SFTP and without reporting to the vendor; the file on disk is left where it is.
 */
export async function importCommand(file: string | undefined, flags: ImportFlags, io: CliIo, signal: AbortSignal): Promise<ExitCode> {
  if (!file) {
    io.err('usage: retention-proxy import FILE.zip [--force] [--json]');
    return EXIT.USAGE;
  }
  const path = resolve(file);
  const name = requireArchiveName(basename(path));
  const size = (await stat(path).catch(() => { throw new ProxyError('ARCHIVE_NOT_ZIP', `${path} cannot be read`); })).size;
  const config = await loadConfigFor(flags);
  const log = loggerFor(config, flags, 'stderr');
  const services = await createServices(config, log, signal);
  try {
    await services.takeLeaseForCommand();
    await services.jobs.discover({
      fileName: name.fileName, serviceId: name.serviceId, jobId: name.jobId, siteId: config.siteId,
      archiveCreatedAt: name.createdAt, source: 'local', localPath: path, remoteSize: size, remoteMtimeMs: 0,
    });
    let job = await services.jobs.get(name.fileName);
    if (!job) throw new ProxyError('INTERNAL', 'job vanished');
    if (flags.force && !['discovered', 'downloading', 'downloaded', 'importing'].includes(job.state)) {
      job = await services.jobs.transition(job.fileName, [job.state], 'downloaded', { source: 'local', localPath: path, remoteSize: size }, 'import --force');
    } else if (job.state === 'imported' || job.state === 'reported' || job.state === 'failed') {
      io.err(`${name.fileName} is already ${job.state}; use --force to import it again`);
    }
    const noSftp = (): Promise<never> => Promise.reject(new ProxyError('USAGE', 'offline import does not use SFTP'));
    const outcome = ['imported', 'reported', 'failed'].includes(job.state) ? { fileName: job.fileName, jobId: job.jobId, state: job.state, ...(job.error ? { error: { code: job.error.code, message: job.error.message } } : {}) } : await processJob(services.pipeline, job, noSftp);
    const final = await services.jobs.get(name.fileName);
    const result = {
      ...outcome,
      recordCounts: Object.fromEntries((final?.recordCounts ?? []).map((c) => [c.collection, c.records])),
      fileCount: final?.fileCount ?? 0,
      totalRecords: final?.totalRecords ?? 0,
      skippedTombstoned: final?.skippedTombstoned ?? {},
      /** Peak resident memory of this process (the benchmark's memory figure). */
      maxRssKiB: peakRssKiB(),
    };
    io.out(flags.json ? JSON.stringify(result, null, 2) : `${result.state} ${result.fileName}: ${result.totalRecords} records, ${result.fileCount} files${result.error ? ` (${result.error.code}: ${result.error.message})` : ''}`);
    return outcome.state === 'imported' || outcome.state === 'reported' ? EXIT.OK : EXIT.INCOMPLETE;
  } finally {
    await services.close();
  }
}
