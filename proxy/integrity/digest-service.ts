import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { AuditLog } from '../portal/audit.js';
import { computeDigest, digestLine, DIGESTS_COLLECTION, lineSha256, type Digest } from './digest.js';

export interface DigestDoc extends Digest { line: string; lineSha256: string }

/**
 * Makes the digest of `day`, keeps it in `integrity.digests`, appends `integrity.digest` to the audit chain (with the
 * line's sha256) and logs the line. Returns the line the customer keeps outside the database.
 */
export async function makeDigest(db: Db, audit: AuditLog, log: Logger, opts: { day: string; site: string; now?: Date }): Promise<{ digest: Digest; line: string }> {
  const digest = await computeDigest(db, opts.day, opts.site, opts.now ?? new Date());
  const line = digestLine(digest);
  const sha = lineSha256(line);
  await db.collection<DigestDoc>(DIGESTS_COLLECTION).insertOne({ ...digest, line, lineSha256: sha });
  await audit.record({
    user: 'system', role: null, action: 'integrity.digest', target: `${DIGESTS_COLLECTION}/${digest.day}`, ip: '', userAgent: 'retention-proxy', outcome: 'ok',
    details: { day: digest.day, archives: digest.archives.length, records: digest.records, files: digest.files, merkleRoot: digest.merkleRoot, lineSha256: sha },
  });
  log.info({ component: 'integrity', digest: line }, 'integrity digest');
  return { digest, line };
}
