import type { Db } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LoginThrottle } from '../../../proxy/portal/auth/lockout.js';

const SNAPSHOT = '[msg_delete.go:95 handler.(*Handler).MsgDelete] [collection.go:241 sqlite.(*collection).DeleteAll] database is locked (517)';

/** A login_attempts collection whose first `failures` deletes fail as FerretDB's SQLite does under a concurrent write. */
function throttleWithLockedDeletes(failures: number): { throttle: LoginThrottle; deletes: unknown[] } {
  const deletes: unknown[] = [];
  const col = {
    deleteMany: (filter: unknown) => {
      deletes.push(filter);
      return deletes.length <= failures ? Promise.reject(new Error(SNAPSHOT)) : Promise.resolve({ deletedCount: 1 });
    },
  };
  const db = { collection: () => col } as unknown as Db;
  return { throttle: new LoginThrottle(db, { maxFailuresPerUser: 5, maxFailuresPerIp: 20, windowMs: 60_000 }), deletes };
}

describe('the sign-in throttle\'s deletes on a briefly locked database (FerretDB SQLite)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a right password still signs in: succeeded, withdraw and clear send their delete again after "database is locked (517)"', async () => {
    for (const call of [
      (t: LoginThrottle) => t.succeeded({ username: 'auditor1', ids: [] }),
      (t: LoginThrottle) => t.withdraw({ username: 'auditor1', ids: [] }),
      (t: LoginThrottle) => t.clear('auditor1'),
    ]) {
      const { throttle, deletes } = throttleWithLockedDeletes(2);
      const done = call(throttle);
      await vi.runAllTimersAsync();
      await expect(done).resolves.toBeUndefined();
      expect(deletes).toHaveLength(3);
    }
  });

  it('gives up after six attempts with the database\'s error', async () => {
    const { throttle, deletes } = throttleWithLockedDeletes(10);
    const done = expect(throttle.clear('auditor1')).rejects.toThrow('database is locked (517)');
    await vi.runAllTimersAsync();
    await done;
    expect(deletes).toHaveLength(6);
  });
});
