import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Collection } from 'mongodb';
import { insertOwn, isSqliteBusy, isSqliteRefusal, retryIfBusy } from '../../../proxy/db/sqlite-busy.js';

const BUSY = '[collection.go:177 sqlite.(*collection).UpdateAll.func1] database is locked (5) (SQLITE_BUSY)';

describe('retryIfBusy (FerretDB SQLite "database is locked")', () => {
  // The waits between attempts (250 ms times the attempts so far) run on fake timers: the test does not sleep.
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('tries a write that failed with SQLITE_BUSY again, after a growing wait, and returns its result', async () => {
    const at: number[] = [];
    const result = retryIfBusy(() => {
      at.push(Date.now());
      return at.length < 3 ? Promise.reject(new Error(BUSY)) : Promise.resolve('done');
    });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('done');
    expect(at).toHaveLength(3);
    expect(at.slice(1).map((t, i) => t - (at[i] ?? 0))).toEqual([250, 500]);
  });

  it('passes any other error on at once, and SQLITE_BUSY after the last attempt', async () => {
    let calls = 0;
    await expect(retryIfBusy(() => {
      calls++;
      return Promise.reject(new Error('E11000 duplicate key'));
    })).rejects.toThrow('E11000');
    expect(calls).toBe(1);
    calls = 0;
    const busy = retryIfBusy(() => {
      calls++;
      return Promise.reject(new Error(BUSY));
    });
    const settled = expect(busy).rejects.toThrow('SQLITE_BUSY');
    await vi.runAllTimersAsync();
    await settled;
    expect(calls).toBe(6);
    expect(isSqliteBusy(new Error('SQLITE_BUSY_TIMEOUT_X'))).toBe(false);
  });

  it('a write FerretDB\'s SQLite interrupted by mistake ("interrupted (9)") is sent again too; the busy test alone does not take it', async () => {
    const interrupted = '[msg_delete.go:95 handler.(*Handler).MsgDelete] [msg_delete.go:126 handler.(*Handler).execDelete] [collection.go:94 sqlite.(*collection).Query] interrupted (9)';
    let calls = 0;
    const result = retryIfBusy(() => (++calls < 3 ? Promise.reject(new Error(interrupted)) : Promise.resolve('done')));
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('done');
    expect(calls).toBe(3);
    expect(isSqliteRefusal(new Error(interrupted))).toBe(true);
    expect(isSqliteBusy(new Error(interrupted))).toBe(false);
    expect(isSqliteRefusal(new Error('interrupted (91)'))).toBe(false);
  });

  it('knows the lock by its extended codes too: "database is locked (517)" (SQLITE_BUSY_SNAPSHOT) is tried again', () => {
    const at = '[msg_delete.go:95 handler.(*Handler).MsgDelete] [collection.go:241 sqlite.(*collection).DeleteAll] ';
    for (const code of [5, 261, 517, 773]) expect(isSqliteBusy(new Error(`${at}database is locked (${code})`)), String(code)).toBe(true);
    for (const other of ['database is locked (51)', 'database is locked', 'database disk image is malformed (11)']) expect(isSqliteBusy(new Error(other)), other).toBe(false);
  });

  it('insertOwn: a refused batch half stored is completed by the resend (its duplicates are ours); any other error, or a duplicate beside one, goes to the caller', async () => {
    const answers: Error[] = [new Error(BUSY), Object.assign(new Error('E11000'), { code: 11000, writeErrors: [{ code: 11000 }] })];
    let sent = 0;
    const col = { insertMany: () => (sent++ < answers.length ? Promise.reject(answers[sent - 1] ?? new Error('none')) : Promise.resolve({})) } as unknown as Collection<{ _id: string }>;
    const done = insertOwn(col, [{ _id: 'a' }, { _id: 'b' }]);
    await vi.runAllTimersAsync();
    await expect(done).resolves.toBeUndefined();
    expect(sent).toBe(2);

    const mixed = Object.assign(new Error('E11000 and a validation error'), { code: 11000, writeErrors: [{ code: 11000 }, { code: 121 }] });
    const other = { insertMany: () => Promise.reject(mixed) } as unknown as Collection<{ _id: string }>;
    await expect(insertOwn(other, [{ _id: 'a' }, { _id: 'b' }])).rejects.toBe(mixed);
  });
});
