import type { Collection, Document, OptionalUnlessRequiredId } from 'mongodb';

/**
 * FerretDB 1.24's SQLite backend gives up on a write after SQLite's busy timeout (10 s) while another write holds the
 * database's one write lock, and answers the whole command with "database is locked (SQLITE_BUSY)". Seen on the
 * year bench (500 k records, two record batches in flight): the replace of a day's repeated contacts failed so, and
 * with it the import. Only writes that are safe to send again are given here: an unordered insert (records that
 * already went in fail on `_id` and take the replace path), a replace whose condition is in its own filter
 * (MongoDB mode), or, for the `{_id}` replace of FerretDB mode, the whole step of re-reading the stored stamps,
 * deciding again and writing (upsert-batch.ts replaceStillOlder): resending an unconditional `{_id}` replace decided
 * before the failure could overwrite a newer version written meanwhile. Any other error, and the last SQLITE_BUSY,
 * go to the caller unchanged.
 *
 * The same lock also shows as "database is locked (517)" (SQLITE_BUSY_SNAPSHOT: the command's own transaction read
 * before another connection's write committed, and could not then write). The command wrote nothing, so the same
 * writes may be sent again. The portal does so for the writes of sign-in and of every request's session check (the
 * throttle's attempts, sessions, the expiry prune: portal/auth/, portal/ttl.ts); the audit chain's append treats it
 * as a lost race (integrity/audit-chain.ts), so no action fails with 500 for a lock held by an import beside it.
 *
 * FerretDB 1.24 also answers a write now and then with "interrupted (9)" (SQLITE_INTERRUPT) although nothing asked to
 * stop it: its SQLite driver (modernc.org/sqlite) interrupts a connection when a context ends, and that interrupt can
 * land on the next statement the pooled connection runs (seen in the test suite on the sign-in throttle's delete, right
 * after other requests' queries had ended). The interrupted statement is rolled back, so it is sent again like a busy
 * one. A find stopped so is not retried here (its own maxTimeMS gives the same words: http-error.ts).
 */
export const BUSY_ATTEMPTS = 6;

/** SQLITE_BUSY (5) and its extended codes (261 recovery, 517 snapshot, 773 timeout), as FerretDB words them. */
export function isSqliteBusy(err: unknown): boolean {
  return err instanceof Error && /\bSQLITE_BUSY\b|\bdatabase is locked \((?:5|261|517|773)\)/.test(err.message);
}

/** A write FerretDB's SQLite refused and rolled back, safe to send again: busy, or interrupted (see above). */
export function isSqliteRefusal(err: unknown): boolean {
  return isSqliteBusy(err) || (err instanceof Error && /\binterrupted \(9\)/.test(err.message));
}

/**
 * How long a request's own write may keep trying (sign-in, the session check, the audit log): past it the refusal goes
 * to the caller (503 DB_BUSY), however many attempts are left. One attempt refused as SQLITE_BUSY (5) has already
 * waited SQLite's busy timeout (10 s), so it is not sent again on a request's path.
 */
export const REQUEST_BUSY_BUDGET_MS = 4_000;

export interface BusyRetry {
  /** Stop trying again once this many ms have gone by since the first attempt (counting the next pause). */
  budgetMs?: number;
}

/** What a request's own writes pass (sessions, the sign-in throttle, the expiry prune, the request's audit entry). */
export const REQUEST_BUSY: Readonly<BusyRetry> = { budgetMs: REQUEST_BUSY_BUDGET_MS };

/** Whether one more attempt fits: fewer than BUSY_ATTEMPTS so far, and within `budgetMs` of `startedAt` after its pause. */
export function busyAttemptLeft(attempt: number, startedAt: number, opts: BusyRetry = {}): boolean {
  if (attempt >= BUSY_ATTEMPTS) return false;
  return opts.budgetMs === undefined || Date.now() - startedAt + busyPauseMs(attempt) <= opts.budgetMs;
}

export async function retryIfBusy<T>(write: () => Promise<T>, opts: BusyRetry = {}): Promise<T> {
  const startedAt = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!isSqliteRefusal(err) || !busyAttemptLeft(attempt, startedAt, opts)) throw err;
      await busyPause(attempt);
    }
  }
}

function isDuplicateKeysOnly(err: unknown): boolean {
  const e = err as { code?: unknown; writeErrors?: unknown };
  const list: unknown[] = Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : [];
  if (list.length > 0) return list.every((w) => (w as { code?: unknown }).code === 11000);
  return e.code === 11000;
}

/**
 * Inserts documents whose `_id`s are their own (fresh, never reused: an ObjectId made for them, a token's digest),
 * unordered, sent again after a refusal. FerretDB falls back to one document at a time when a batch fails, so a
 * refused command may have inserted some of them: a duplicate `_id` is one of ours that went in (on a resend, or
 * on the driver's own retry), and the insert is done.
 */
export async function insertOwn<T extends Document>(col: Collection<T>, docs: readonly OptionalUnlessRequiredId<T>[], opts: BusyRetry = {}): Promise<void> {
  await retryIfBusy(async () => {
    try {
      await col.insertMany([...docs], { ordered: false });
    } catch (err) {
      // Also on the first attempt: the driver may itself have sent the command again after it went in.
      if (!isDuplicateKeysOnly(err)) throw err;
    }
  }, opts);
}

function busyPauseMs(attempt: number): number {
  return 250 * attempt;
}

/** The pause before the next attempt after SQLITE_BUSY: 250 ms times the attempts made so far. */
export function busyPause(attempt: number): Promise<void> {
  // The global timer (not node:timers/promises), so that tests can run it with fake timers.
  return new Promise<void>((resolve) => setTimeout(resolve, busyPauseMs(attempt)));
}
