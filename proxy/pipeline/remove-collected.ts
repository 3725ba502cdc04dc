import { posix } from 'node:path';
import type { JobCopy, JobDoc } from '../db/jobs.js';
import { errorCodeOf, isProxyError } from '../errors.js';
import { copyKeyOf } from '../sftp/sources.js';
import type { SftpSession } from '../sftp/connect.js';
import type { PipelineContext } from './context.js';
import type { CycleWarning } from './discover.js';
import { parseChecksumFile } from './download-step.js';
import type { SftpPool } from './sftp-pool.js';

/** The copies of a job; a job of an older version only knows the primary's. */
function copiesOf(job: JobDoc, pool: SftpPool): [string, JobCopy][] {
  if (job.copies) return Object.entries(job.copies);
  const p = pool.primary;
  return [[copyKeyOf(p.id), { server: p.id, label: p.label, size: job.remoteSize, mtimeMs: job.remoteMtimeMs }]];
}

/** Jobs read per page by removeCollected. */
export const REMOVAL_PAGE = 100;

/** The copy's `.sha256` as it is now: absent, or present with its checksum (undefined when unreadable or malformed). */
async function sidecarSha256(session: SftpSession, path: string, fileName: string): Promise<{ present: false } | { present: true; sha256: string | undefined }> {
  const sidecar = await session.readSmallFile(`${path}.sha256`, 4096);
  if (!sidecar) return { present: false };
  try {
    return { present: true, sha256: parseChecksumFile(sidecar.toString('utf8'), fileName) };
  } catch {
    return { present: true, sha256: undefined };
  }
}

/**
 * Whether a copy is other content than the archive imported: its sidecar now (unreadable counts as different) or,
 * its sidecar since gone, the checksum published at discovery differs from the downloaded or the recorded one.
 */
function copyDiffers(job: JobDoc, copy: JobCopy, published: { present: false } | { present: true; sha256: string | undefined }): boolean {
  if (copy.publishedSha256 !== undefined && job.sha256 !== undefined && copy.publishedSha256 !== job.sha256) return true;
  if (!published.present) return false;
  return published.sha256 === undefined || [job.sha256, copy.publishedSha256].some((ref) => ref !== undefined && ref !== published.sha256);
}

/**
 * sftp.deleteAfterDownloaded: removes each reported archive (and its `.sha256`) from every server it was found on.
 * Only jobs in "reported" are looked at, i.e. after "Data Downloaded" was delivered (deliver-outbox.ts moves the job
 * there only after the vendor acknowledged it). State lives in the job (`copies.*.removedAt`, `remoteRemovedAt`), so a
 * crash between the delivery and a removal is finished by the next cycle; removing what is already gone is fine.
 * Before each removal a majority write fenced per job (a newer leader that wrote the job makes it fail: LEASE_LOST stops
 * it). A copy with other content (ARCHIVE_COPIES_DIFFER, also found here: its `.sha256` read again right before the
 * removal differs from the imported archive's), or one that changed since it was found (size, mtime), is left alone.
 * Unreachable servers wait for a later cycle and never hold up the others.
 */
export async function removeCollected(ctx: PipelineContext, pool: SftpPool, reachable: ReadonlySet<string>, pageSize = REMOVAL_PAGE): Promise<CycleWarning[]> {
  const warnings: CycleWarning[] = [];
  if (!ctx.config.sftp.deleteAfterDownloaded) return warnings;
  const log = ctx.log.child({ component: 'inbox-cleanup' });
  const pending = { state: 'reported', source: 'sftp', remoteRemovedAt: { $exists: false } } as const;
  // Bounded batches: one page of jobs in memory at a time (jobs left pending are passed by, not read again).
  for (let page = await ctx.jobs.page(pending, pageSize); page.length > 0 && !ctx.signal?.aborted;
    page = page.length < pageSize ? [] : await ctx.jobs.page(pending, pageSize, page[page.length - 1]?._id)) {
    await removePage(ctx, pool, reachable, page, warnings, log);
  }
  return warnings;
}

async function removePage(ctx: PipelineContext, pool: SftpPool, reachable: ReadonlySet<string>, jobs: JobDoc[], warnings: CycleWarning[], log: PipelineContext['log']): Promise<void> {
  for (const job of jobs) {
    if (ctx.signal?.aborted) break;
    let done = true;
    for (const [key, copy] of copiesOf(job, pool)) {
      if (copy.removedAt || copy.differs) continue;
      const source = pool.byId(copy.server);
      if (!source) {
        // A server no longer configured: nothing this node can do; do not keep the job pending for it.
        log.warn({ fileName: job.fileName, server: copy.label }, 'archive copy on a server that is no longer configured; not removed');
        continue;
      }
      if (!reachable.has(source.id)) {
        done = false;
        continue;
      }
      try {
        const path = posix.join(ctx.config.sftp.remoteDir, job.fileName);
        await ctx.jobs.confirmLeader(job.fileName);
        const session = await pool.get(source);
        const now = await session.stat(path);
        if (now && (now.size !== copy.size || now.mtimeMs !== copy.mtimeMs)) {
          done = false;
          warnings.push({ code: 'REMOTE_FILE_CHANGED', message: `${job.fileName} on ${source.label} changed since it was collected (${copy.size} → ${now.size} bytes, modified ${new Date(now.mtimeMs).toISOString()}); not removed`, server: source.label });
          log.warn({ fileName: job.fileName, server: source.label, size: now.size, collectedSize: copy.size, mtimeMs: now.mtimeMs, collectedMtimeMs: copy.mtimeMs }, 'archive changed on the server since it was collected; not removed');
          continue;
        }
        // The copy's checksum as published now (a sidecar may have appeared after discovery): other content is never
        // removed, it is flagged (ARCHIVE_COPIES_DIFFER) for a person to compare.
        const published = now ? await sidecarSha256(session, path, job.fileName) : { present: false as const };
        if (now && copyDiffers(job, copy, published)) {
          await ctx.jobs.markCopyDiffers(job.fileName, key, copy);
          log.error({ code: 'ARCHIVE_COPIES_DIFFER', fileName: job.fileName, server: source.label, sha256: published.present ? published.sha256 : copy.publishedSha256, expectedSha256: job.sha256 },
            'this copy\'s published checksum differs from the archive imported: neither imported nor removed; check it');
          continue;
        }
        const removed = await session.remove(path);
        await session.remove(`${path}.sha256`);
        await ctx.jobs.markCopyRemoved(job.fileName, key);
        log.info({ fileName: job.fileName, server: source.label, alreadyGone: !removed }, 'archive removed from the SFTP server after "Data Downloaded" was delivered');
      } catch (err) {
        if (isProxyError(err, 'LEASE_LOST') || ctx.signal?.aborted) throw err;
        done = false;
        const code = errorCodeOf(err);
        warnings.push({ code, message: `${job.fileName} on ${source.label}: ${(err as Error).message}`, server: source.label });
        log.warn({ fileName: job.fileName, server: source.label, code, err: (err as Error).message }, 'could not remove a collected archive; retried next cycle');
        await pool.drop(source);
      }
    }
    if (done) await ctx.jobs.markRemoteRemoved(job.fileName);
  }
}
