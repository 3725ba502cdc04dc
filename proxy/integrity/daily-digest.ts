import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { JOBS_COLLECTION } from '../db/collections.js';
import { errorCodeOf } from '../errors.js';
import { AuditLog } from '../portal/audit.js';
import { makeDigest } from './digest-service.js';

/**
 * After a sync cycle: the digest of every UTC day for which this cycle brought an archive to imported (or reported).
 * Runs where the cycle runs (the HA leader). A failure is logged and never fails the cycle; the next cycle that
 * imports an archive of that day, or `retention-proxy digest --day`, makes it again.
 */
export async function digestImportedDays(db: Db, log: Logger, site: string, fileNames: readonly string[], now: () => Date): Promise<string[]> {
  if (fileNames.length === 0) return [];
  const days = new Set<string>();
  try {
    const jobs = db.collection<{ _id: string; archiveCreatedAt?: Date; state?: string }>(JOBS_COLLECTION)
      .find({ _id: { $in: [...fileNames] }, state: { $in: ['imported', 'reported'] } }, { projection: { archiveCreatedAt: 1 } });
    for await (const job of jobs) if (job.archiveCreatedAt instanceof Date) days.add(job.archiveCreatedAt.toISOString().slice(0, 10));
    const audit = new AuditLog(db);
    for (const day of [...days].sort()) await makeDigest(db, audit, log, { day, site, now: now() });
  } catch (err) {
    log.error({ component: 'integrity', code: errorCodeOf(err), err: (err as Error).message }, 'integrity digest not made');
  }
  return [...days].sort();
}
