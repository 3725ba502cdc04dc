import type { Collection, Document } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChainAppender, GENESIS_HASH } from '../../../proxy/integrity/audit-chain.js';

const BUSY = '[msg_insert.go:120 handler.(*Handler).MsgInsert] database is locked (517)';

/** An empty audit collection whose first `failures` inserts fail as FerretDB's SQLite does under a concurrent write. */
function lockedAudit(failures: number): { col: Collection<Document>; inserted: Document[]; attempts: () => number } {
  const inserted: Document[] = [];
  let attempts = 0;
  const col = {
    insertOne: (doc: Document) => {
      attempts++;
      if (attempts <= failures) return Promise.reject(new Error(BUSY));
      inserted.push(doc);
      return Promise.resolve({ acknowledged: true, insertedId: doc._id as unknown });
    },
    // The chain's head, and the look-up of an attempt's own `_id`: nothing was written by a refused insert.
    findOne: () => Promise.resolve(null),
  };
  return { col: col as unknown as Collection<Document>, inserted, attempts: () => attempts };
}

describe('the audit chain\'s append on a briefly locked database (FerretDB SQLite)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('an audited action still gets its entry: the append is tried again, once written, with no gap in seq', async () => {
    const { col, inserted, attempts } = lockedAudit(2);
    const done = new ChainAppender(col).append({ action: 'login.ok', user: 'auditor1' });
    await vi.runAllTimersAsync();
    await expect(done).resolves.toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(attempts()).toBe(3);
    expect(inserted).toHaveLength(1);
    expect(inserted[0]).toMatchObject({ action: 'login.ok', prevHash: GENESIS_HASH });
    expect(Number(inserted[0]?.seq)).toBe(1);
  });

  it('gives up after six busy attempts with the database\'s error', async () => {
    const { col, inserted, attempts } = lockedAudit(10);
    const done = expect(new ChainAppender(col).append({ action: 'login.ok' })).rejects.toThrow('database is locked (517)');
    await vi.runAllTimersAsync();
    await done;
    expect(attempts()).toBe(6);
    expect(inserted).toHaveLength(0);
  });
});
