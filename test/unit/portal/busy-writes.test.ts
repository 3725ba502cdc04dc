import type { Db } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LoginThrottle } from '../../../proxy/portal/auth/lockout.js';
import { SessionStore } from '../../../proxy/portal/auth/sessions.js';
import { tokenDigest } from '../../../proxy/portal/auth/tokens.js';

const BUSY = '[msg_insert.go:120 handler.(*Handler).MsgInsert] database is locked (517)';

/**
 * A collection whose writes fail as FerretDB's SQLite does under a concurrent write, the first `failures[method]`
 * times each; every call is recorded. Reads answer from `found`.
 */
function lockedCollection(failures: Record<string, number>, found: unknown = null) {
  const calls: string[] = [];
  const write = (method: string) => () => {
    calls.push(method);
    const n = calls.filter((c) => c === method).length;
    return n <= (failures[method] ?? 0) ? Promise.reject(new Error(BUSY)) : Promise.resolve({ acknowledged: true });
  };
  const col = {
    deleteMany: write('deleteMany'),
    deleteOne: write('deleteOne'),
    insertOne: write('insertOne'),
    insertMany: write('insertMany'),
    updateOne: write('updateOne'),
    findOne: () => Promise.resolve(found),
    find: () => ({ sort: () => ({ limit: () => ({ toArray: () => Promise.resolve([]) }) }) }),
  };
  return { db: { collection: () => col } as unknown as Db, calls };
}

const client = { ip: '127.0.0.1', userAgent: 'test' };
const policy = { idleMs: 30 * 60_000, maxMs: 12 * 3600_000 };

describe('sign-in and session writes on a briefly locked database (FerretDB SQLite)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a sign-in still makes its session: the expiry prune and the session insert are sent again after "database is locked"', async () => {
    const { db, calls } = lockedCollection({ deleteMany: 1, insertMany: 2 });
    const done = new SessionStore(db, policy).create({ username: 'auditor1', role: 'auditor' }, client);
    await vi.runAllTimersAsync();
    await expect(done).resolves.toMatchObject({ session: { username: 'auditor1', role: 'auditor' } });
    expect(calls).toEqual(['deleteMany', 'deleteMany', 'insertMany', 'insertMany', 'insertMany']);
  });

  it('the session check of a request: its touch of lastSeenAt, and the delete of an idle session, are sent again', async () => {
    const now = new Date('2026-12-03T12:00:00Z');
    const doc = (lastSeen: number) => ({ _id: tokenDigest('t'), username: 'a', role: 'auditor', csrfToken: 'c', createdAt: now, lastSeenAt: new Date(now.getTime() - lastSeen), expiresAt: new Date(now.getTime() + 3600_000) });
    const touched = lockedCollection({ updateOne: 2 }, doc(60_000));
    const live = new SessionStore(touched.db, policy, () => now).lookup('t');
    await vi.runAllTimersAsync();
    await expect(live).resolves.toMatchObject({ username: 'a' });
    expect(touched.calls).toEqual(['updateOne', 'updateOne', 'updateOne']);

    const idle = lockedCollection({ deleteOne: 1 }, doc(policy.idleMs));
    const gone = new SessionStore(idle.db, policy, () => now).lookup('t');
    await vi.runAllTimersAsync();
    await expect(gone).resolves.toBeUndefined();
    expect(idle.calls).toEqual(['deleteOne', 'deleteOne']);
  });

  it('sign-out and the end of every session of a user are sent again', async () => {
    const { db, calls } = lockedCollection({ deleteOne: 1, deleteMany: 1 });
    const store = new SessionStore(db, policy);
    const done = Promise.all([store.destroy('t'), store.destroyAllOf('a')]);
    await vi.runAllTimersAsync();
    await done;
    expect(calls.sort()).toEqual(['deleteMany', 'deleteMany', 'deleteOne', 'deleteOne']);
  });

  it('the throttle counts the attempt: its insert is sent again with the same two documents', async () => {
    const { db, calls } = lockedCollection({ insertMany: 2 });
    const spy = vi.fn();
    const col = db.collection('x') as unknown as { insertMany: (docs: unknown[]) => Promise<unknown> };
    const original = col.insertMany;
    col.insertMany = (docs: unknown[]) => {
      spy(docs);
      return original(docs);
    };
    const done = new LoginThrottle(db, { maxFailuresPerUser: 5, maxFailuresPerIp: 20, windowMs: 60_000 }).begin('auditor1', '127.0.0.1');
    await vi.runAllTimersAsync();
    await expect(done).resolves.toMatchObject({ retryAfterMs: 0 });
    expect(calls.filter((c) => c === 'insertMany')).toHaveLength(3);
    const sent = spy.mock.calls.map((c) => c[0] as unknown[]);
    expect(sent[2]?.[0]).toBe(sent[0]?.[0]);
    expect(sent[2]?.[1]).toBe(sent[0]?.[1]);
  });

  it('the throttle\'s two attempt documents, one taken before FerretDB refused the other: the resend completes it, no error', async () => {
    const { db } = lockedCollection({});
    const stored = new Set<string>();
    let sent = 0;
    const col = db.collection('x') as unknown as { insertMany: (docs: { _id: { toHexString(): string } }[]) => Promise<unknown> };
    col.insertMany = (docs) => {
      sent++;
      const dup = docs.filter((d) => stored.has(d._id.toHexString()));
      if (sent === 1) {
        // FerretDB's one-at-a-time fallback: the first document went in, then the lock refused the second.
        stored.add(docs[0]?._id.toHexString() ?? '');
        return Promise.reject(new Error(BUSY));
      }
      for (const d of docs) stored.add(d._id.toHexString());
      return dup.length === 0 ? Promise.resolve({}) : Promise.reject(Object.assign(new Error('E11000 duplicate key'), { code: 11000, writeErrors: dup.map(() => ({ code: 11000 })) }));
    };
    const done = new LoginThrottle(db, { maxFailuresPerUser: 5, maxFailuresPerIp: 20, windowMs: 60_000 }).begin('auditor1', '127.0.0.1');
    await vi.runAllTimersAsync();
    await expect(done).resolves.toMatchObject({ retryAfterMs: 0 });
    expect([sent, stored.size]).toEqual([2, 2]);
  });

  it('gives up after six attempts with the database\'s error (the app then answers 503 DB_BUSY)', async () => {
    const { db, calls } = lockedCollection({ deleteOne: 10 });
    const done = expect(new SessionStore(db, policy).destroy('t')).rejects.toThrow('database is locked (517)');
    await vi.runAllTimersAsync();
    await done;
    expect(calls.filter((c) => c === 'deleteOne')).toHaveLength(6);
  });

  it('on a request\'s path, a refusal that took the whole budget is not sent again: SQLITE_BUSY (5) has already waited 10 s', async () => {
    const calls: number[] = [];
    const col = {
      deleteOne: () => {
        calls.push(Date.now());
        // SQLite's busy timeout: the refusal comes 10 s after the command.
        return new Promise((_resolve, reject) => setTimeout(() => reject(new Error('database is locked (5) (SQLITE_BUSY)')), 10_000));
      },
    };
    const done = expect(new SessionStore({ collection: () => col } as unknown as Db, policy).destroy('t')).rejects.toThrow('SQLITE_BUSY');
    await vi.runAllTimersAsync();
    await done;
    expect(calls).toHaveLength(1);
  });
});
