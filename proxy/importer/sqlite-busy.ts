import { setTimeout as sleep } from 'node:timers/promises';

/**
 * FerretDB 1.24's SQLite backend gives up on a write after SQLite's busy timeout (10 s) while another write holds the
 * database's one write lock, and answers the whole command with "database is locked (SQLITE_BUSY)". Seen on the
 * year bench (500 k records, two record batches in flight): the replace of a day's repeated contacts failed so, and
 * with it the import. The writes retried here are idempotent (an unordered insert whose records already went in
 * fails on `_id` and takes the replace path; a replace writes the same document again), so a few more attempts are
 * safe; any other error, and the last SQLITE_BUSY, go to the caller unchanged.
 */
const ATTEMPTS = 4;

export function isSqliteBusy(err: unknown): boolean {
  return err instanceof Error && /\bSQLITE_BUSY\b/.test(err.message);
}

export async function retryIfBusy<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= ATTEMPTS || !isSqliteBusy(err)) throw err;
      await sleep(250 * attempt);
    }
  }
}
