import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { JOBS_COLLECTION } from '../db/collections.js';
import { errorCodeOf } from '../errors.js';
import { AuditLog } from '../portal/audit.js';
import { DIGESTS_COLLECTION } from './digest.js';
import { makeDigest } from './digest-service.js';

const IMPORTED_STATES = ['imported', 'reported'];
/** How far back a cycle looks for days whose imported archives no digest covers (a digest lost to a crash). */
export const DIGEST_CATCH_UP_DAYS = 31;

interface JobDay { _id: string; archiveCreatedAt?: Date; state?: string }

/**
 * After a sync cycle: the digest of every UTC day for which this cycle brought an archive to imported (or reported),
 * and of every day of the last DIGEST_CATCH_UP_DAYS with an imported archive that no digest of that day covers (the
 * digest was lost: a crash or a leader change between the import and the digest). Runs where the cycle runs (the HA
 * leader). A failure is logged and never fails the cycle; the next cycle, or `retention-proxy digest --day`, makes it.
 */
export async function digestImportedDays(db: Db, log: Logger, site: string, fileNames: readonly string[], now: () => Date): Promise<string[]> {
  const days = new Set<string>();
  try {
    const jobs = db.collection<JobDay>(JOBS_COLLECTION);
    if (fileNames.length > 0) {
      const mine = jobs.find({ _id: { $in: [...fileNames] }, state: { $in: IMPORTED_STATES } }, { projection: { archiveCreatedAt: 1 } });
      for await (const job of mine) if (job.archiveCreatedAt instanceof Date) days.add(dayOf(job.archiveCreatedAt));
    }
    for (const day of await uncoveredDays(db, now())) days.add(day);
    if (days.size === 0) return [];
    const audit = new AuditLog(db);
    for (const day of [...days].sort()) await makeDigest(db, audit, log, { day, site, now: now() });
  } catch (err) {
    log.error({ component: 'integrity', code: errorCodeOf(err), err: (err as Error).message }, 'integrity digest not made');
  }
  return [...days].sort();
}

function dayOf(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Days of the last DIGEST_CATCH_UP_DAYS with an imported archive that is in none of that day's digests. */
async function uncoveredDays(db: Db, now: Date): Promise<string[]> {
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - DIGEST_CATCH_UP_DAYS * 86_400_000);
  const pending = new Map<string, Set<string>>();
  const jobs = db.collection<JobDay>(JOBS_COLLECTION).find({ archiveCreatedAt: { $gte: since }, state: { $in: IMPORTED_STATES } }, { projection: { archiveCreatedAt: 1 } });
  for await (const job of jobs) {
    if (!(job.archiveCreatedAt instanceof Date)) continue;
    const day = dayOf(job.archiveCreatedAt);
    let set = pending.get(day);
    if (set === undefined) pending.set(day, (set = new Set()));
    set.add(job._id);
  }
  if (pending.size === 0) return [];
  const digests = db.collection<{ day: string; archives?: unknown }>(DIGESTS_COLLECTION).find({ day: { $in: [...pending.keys()] } }, { projection: { day: 1, archives: 1 } });
  for await (const d of digests) {
    const set = pending.get(d.day);
    if (set && Array.isArray(d.archives)) for (const a of d.archives) set.delete(String(a));
  }
  return [...pending].filter(([, left]) => left.size > 0).map(([day]) => day).sort();
}
