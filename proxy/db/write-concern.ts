import type { WriteConcernSettings } from 'mongodb';
import { databaseError } from './connect.js';

export function majority(wtimeoutMs: number): WriteConcernSettings {
  return { w: 'majority', wtimeoutMS: wtimeoutMs };
}

/** Runs a driver call; driver errors become the project's codes (a write-concern timeout is DB_NOT_DURABLE). */
export async function dbCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw databaseError(err, what);
  }
}
