import { createHash } from 'node:crypto';
import { ensureIndexes } from '../db/ensure-indexes.js';
import type { AuditLog } from './audit.js';
import type { ByteRange } from './range.js';

/** An id for the session in audit details that cannot be turned back into the cookie or the stored session id. */
export function sessionTag(token: string): string {
  return createHash('sha256').update(`audit-playback:${token}`).digest('hex').slice(0, 24);
}

/**
 * Whether a media request starts a playback that must be audited: one without a range, or from byte 0, always does;
 * a range from further in is a seek of a playback only when this session already has an entry for this file (a
 * `Range: bytes=1-` that nobody audited still reads the whole file, so it is audited as a playback of its own).
 */
export async function startsPlayback(log: AuditLog, range: ByteRange | undefined, who: { user: string; session: string }, action: string, target: string): Promise<boolean> {
  if (!range || range.start === 0) return true;
  const seen = await log.col.findOne({ user: who.user, action: action as never, target, 'details.session': who.session }, { projection: { _id: 1 } });
  return seen === null;
}

/**
 * The index startsPlayback's look-up needs: without it every seek scans the user's audit history. Sparse: only
 * entries with a playback session (media.play / media.download) are in it. Kept here, next to the query it serves.
 */
export function ensurePlaybackIndex(log: AuditLog): Promise<void> {
  return ensureIndexes(log.col, [
    { name: 'playback_session', key: { 'details.session': 1, target: 1, action: 1 }, options: { sparse: true } },
  ]);
}
