import type { WriteConcernSettings } from 'mongodb';
import { databaseError } from './connect.js';

/**
 * The write concern of every write that must survive: acknowledged by a majority, each of them with the write in its
 * journal (`j: true`). Without `j`, a standalone server or a one-member set acknowledges "majority" before the
 * journal write (writeConcernMajorityJournalDefault covers replica sets of several members only).
 */
export function majority(wtimeoutMs: number): WriteConcernSettings {
  return { w: 'majority', journal: true, wtimeoutMS: wtimeoutMs };
}

/** Runs a driver call; driver errors become the project's codes (a write-concern timeout is DB_NOT_DURABLE). */
export async function dbCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw databaseError(err, what);
  }
}
