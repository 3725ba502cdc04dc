import { describe, expect, it } from 'vitest';
import { isSqliteBusy, retryIfBusy } from '../../../proxy/importer/sqlite-busy.js';

const BUSY = '[collection.go:177 sqlite.(*collection).UpdateAll.func1] database is locked (5) (SQLITE_BUSY)';

describe('retryIfBusy (FerretDB SQLite "database is locked")', () => {
  it('tries a write that failed with SQLITE_BUSY again and returns its result', async () => {
    let calls = 0;
    const result = await retryIfBusy(() => (++calls < 3 ? Promise.reject(new Error(BUSY)) : Promise.resolve('done')));
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('passes any other error on at once, and SQLITE_BUSY after the last attempt', async () => {
    let calls = 0;
    await expect(retryIfBusy(() => {
      calls++;
      return Promise.reject(new Error('E11000 duplicate key'));
    })).rejects.toThrow('E11000');
    expect(calls).toBe(1);
    calls = 0;
    await expect(retryIfBusy(() => {
      calls++;
      return Promise.reject(new Error(BUSY));
    })).rejects.toThrow('SQLITE_BUSY');
    expect(calls).toBe(4);
    expect(isSqliteBusy(new Error('SQLITE_BUSY_TIMEOUT_X'))).toBe(false);
  });
});
