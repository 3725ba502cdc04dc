import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArchiveName } from '../archive/archive-name.js';
import type { JobCopy, JobDoc } from '../db/jobs.js';
import { errorCodeOf, isProxyError } from '../errors.js';
import type { RemoteFile, SftpSession } from '../sftp/connect.js';
import type { SftpSource } from '../sftp/sources.js';
import { stableFiles } from '../sftp/stable-listing.js';
import type { PipelineContext } from './context.js';
import { parseChecksumFile } from './download-step.js';
import type { SftpPool } from './sftp-pool.js';

/** Sidecars and temporary names that are part of the contract, not archives: not "ignored". */
const SIDECAR = /\.(sha256|part|uploading|tmp)$/;

export interface CycleWarning { code: string; message: string; server?: string }

export interface Discovery {
  /** Archive names with at least one complete copy on a server (known jobs included). */
  stable: Set<string>;
  /** Files still changing on every server they are on (the vendor still uploading?). */
  unstable: RemoteFile[];
  /** Servers listed successfully in this cycle (by id). */
  reachable: Set<string>;
  /** The primary server could not be listed. */
  listingError?: { code: string; message: string };
  /** A peer could not be listed: its archives wait; the others are collected anyway. */
  warnings: CycleWarning[];
}

/**
 * Whether the job already knows this server's copy (jobs of older versions know only the primary's). A copy already
 * removed is not known: a file under its name is a re-upload, recorded as a new copy.
 */
function hasCopy(job: JobDoc, source: SftpSource): boolean {
  return job.copies ? job.copies[source.key] !== undefined && !job.copies[source.key]?.removedAt : source.primary;
}

/**
 * Lists every configured server (sftp.host, then sftp.peers), waits `settleSeconds` once for files not seen before, and
 * records each stable new file: a new job, or one more copy of a known archive (the same name on another server). A
 * server that cannot be listed is skipped (the primary's failure is `listingError`, a peer's a warning).
 */
export async function discoverAll(ctx: PipelineContext, loggedIgnored: Set<string>, pool: SftpPool, ignored: Set<string>): Promise<Discovery> {
  const log = ctx.log.child({ component: 'discover' });
  const dir = ctx.config.sftp.remoteDir;
  const result: Discovery = { stable: new Set(), unstable: [], reachable: new Set(), warnings: [] };
  const relevant = (files: RemoteFile[]): RemoteFile[] =>
    files.filter((f) => {
      if (SIDECAR.test(f.name)) return false;
      const parsed = parseArchiveName(f.name);
      if (!parsed) {
        ignored.add(f.name);
        if (!loggedIgnored.has(f.name)) {
          loggedIgnored.add(f.name);
          log.info({ name: f.name }, 'ignoring a file whose name is not an archive name');
        }
        return false;
      }
      return ctx.config.serviceId === undefined || parsed.serviceId === ctx.config.serviceId;
    });
  const failed = async (source: SftpSource, err: unknown): Promise<void> => {
    const problem = { code: errorCodeOf(err), message: (err as Error).message };
    await pool.drop(source);
    result.reachable.delete(source.id);
    if (source.primary) {
      result.listingError = problem;
      log.error(problem, 'could not list the SFTP directory');
    } else {
      result.warnings.push({ ...problem, server: source.label });
      log.warn({ ...problem, server: source.label }, 'could not list a peer SFTP server; its archives wait for the next cycle, the others are collected');
    }
  };

  const unknown = new Map<SftpSource, RemoteFile[]>();
  for (const source of pool.sources) {
    try {
      const files = relevant(await (await pool.get(source)).list(dir));
      result.reachable.add(source.id);
      await forgetResolvedCopies(ctx, source, new Set(files.map((f) => f.name)), log);
      const fresh: RemoteFile[] = [];
      for (const f of files) {
        const job = await ctx.jobs.get(f.name);
        if (job && hasCopy(job, source)) result.stable.add(f.name);
        else fresh.push(f);
      }
      if (fresh.length > 0) unknown.set(source, fresh);
    } catch (err) {
      if (isProxyError(err) && err.code.startsWith('DB_')) throw err;
      await failed(source, err);
    }
  }
  if (unknown.size === 0) return result;

  // Only files the database does not know yet (on that server) need the settle wait: one wait for all servers.
  try {
    await sleep(ctx.config.sftp.settleSeconds * 1000, undefined, ctx.signal ? { signal: ctx.signal } : {});
  } catch (err) {
    // Shutdown or a lost lease during the wait: nothing new is recorded; the cycle winds down as after a listing error.
    result.listingError = { code: errorCodeOf(err), message: (err as Error).message };
    return result;
  }
  const stillChanging: RemoteFile[] = [];
  for (const [source, first] of unknown) {
    let stableNew: RemoteFile[];
    let session: SftpSession;
    try {
      session = await pool.get(source);
      stableNew = stableFiles(first, relevant(await session.list(dir)));
    } catch (err) {
      if (isProxyError(err) && err.code.startsWith('DB_')) throw err;
      await failed(source, err);
      continue;
    }
    for (const f of stableNew) {
      await recordCopy(ctx, session, source, f, log);
      result.stable.add(f.name);
    }
    const names = new Set(stableNew.map((f) => f.name));
    stillChanging.push(...first.filter((f) => !names.has(f.name)));
  }
  for (const f of stillChanging) {
    if (result.stable.has(f.name)) continue;
    log.info({ fileName: f.name, bytes: f.size }, 'archive still changing (vendor uploading?); waiting for the next cycle');
    result.unstable.push(f);
  }
  return result;
}

/** Differing copies (ARCHIVE_COPIES_DIFFER) that are gone from their server: an operator resolved them. */
async function forgetResolvedCopies(ctx: PipelineContext, source: SftpSource, listed: ReadonlySet<string>, log: PipelineContext['log']): Promise<void> {
  for (const job of await ctx.jobs.list({ [`copies.${source.key}.differs`]: true })) {
    if (listed.has(job.fileName)) continue;
    await ctx.jobs.forgetCopy(job.fileName, source.key);
    log.info({ fileName: job.fileName, server: source.label }, 'the differing copy is gone from its server; ARCHIVE_COPIES_DIFFER cleared');
  }
}

/** The published checksum of a copy, if its sidecar is there and readable (the download step judges it again). */
async function publishedSha256(session: SftpSession, path: string, fileName: string): Promise<string | undefined> {
  try {
    const sidecar = await session.readSmallFile(`${path}.sha256`, 4096);
    return sidecar ? parseChecksumFile(sidecar.toString('utf8'), fileName) : undefined;
  } catch {
    return undefined;
  }
}

/** The archive's content as the job knows it: the downloaded hash, else the published one of any known copy. */
export function referenceSha256(job: JobDoc): string | undefined {
  if (job.sha256 && job.source === 'sftp') return job.sha256;
  if (job.publishedSha256) return job.publishedSha256;
  return Object.values(job.copies ?? {}).find((c) => !c.differs && c.publishedSha256)?.publishedSha256;
}

async function recordCopy(ctx: PipelineContext, session: SftpSession, source: SftpSource, f: RemoteFile, log: PipelineContext['log']): Promise<void> {
  const parsed = parseArchiveName(f.name);
  if (!parsed) return;
  const sha = await publishedSha256(session, posix.join(ctx.config.sftp.remoteDir, f.name), f.name);
  const copy: JobCopy = { server: source.id, label: source.label, size: f.size, mtimeMs: f.mtimeMs, ...(sha ? { publishedSha256: sha } : {}) };
  const created = await ctx.jobs.discover({
    fileName: f.name,
    serviceId: parsed.serviceId,
    jobId: parsed.jobId,
    siteId: ctx.config.siteId,
    archiveCreatedAt: parsed.createdAt,
    source: 'sftp',
    remoteSize: f.size,
    remoteMtimeMs: f.mtimeMs,
    server: source.id,
    copies: { [source.key]: copy },
  });
  if (created) {
    log.info({ jobId: parsed.jobId, fileName: f.name, bytes: f.size, server: source.label }, 'new archive discovered');
    return;
  }
  const job = await ctx.jobs.get(f.name);
  if (!job) return;
  const reference = referenceSha256(job);
  if (f.size !== job.remoteSize || (sha !== undefined && reference !== undefined && sha !== reference)) copy.differs = true;
  const reupload = job.copies?.[source.key]?.removedAt !== undefined;
  if (!(await (reupload ? ctx.jobs.reopenCopy(f.name, source.key, copy) : ctx.jobs.addCopy(f.name, source.key, copy)))) return;
  if (copy.differs) {
    log.error({ code: 'ARCHIVE_COPIES_DIFFER', fileName: f.name, server: source.label, size: f.size, expectedSize: job.remoteSize, sha256: sha, expectedSha256: reference },
      'the same archive name is on another server with different content: that copy is neither imported nor removed; check it');
  } else {
    log.info({ jobId: parsed.jobId, fileName: f.name, server: source.label, state: job.state, reupload },
      reupload ? 'archive uploaded again after it was removed (the same content: removed again, not imported again)' : 'archive also found on another server (one job: imported and reported once)');
  }
}

/** The error to show for an archive with a differing copy (the job itself may be fine). */
export function copiesDifferError(job: JobDoc): { code: string; message: string } | undefined {
  const differing = Object.values(job.copies ?? {}).filter((c) => c.differs);
  if (differing.length === 0) return undefined;
  return {
    code: 'ARCHIVE_COPIES_DIFFER',
    message: `${job.fileName} is also on ${differing.map((c) => c.label).join(', ')} with different content (size or published checksum): that copy was neither imported nor removed; compare it with the imported one and remove it by hand`,
  };
}
