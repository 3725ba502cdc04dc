import type { Collection, Document } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChainAppender, GENESIS_HASH } from '../../../proxy/integrity/audit-chain.js';

const BUSY = '[msg_insert.go:120 handler.(*Handler).MsgInsert] database is locked (517)';
const INTERRUPTED = '[msg_insert.go:120 handler.(*Handler).MsgInsert] interrupted (9)';

/**
 * An audit collection holding `head` (or nothing) whose first inserts fail as FerretDB's SQLite does: `refusals`
 * lists each failing attempt's message; with `landed`, the refused insert was in fact stored (then found by `_id`).
 */
function lockedAudit(refusals: string[], opts: { head?: { seq: number; hash: string }; landed?: boolean } = {}) {
  const stored: Document[] = [];
  let attempts = 0;
  const col = {
    insertOne: (doc: Document) => {
      attempts++;
      const refusal = refusals[attempts - 1];
      if (refusal !== undefined) {
        if (opts.landed === true) stored.push(doc);
        return Promise.reject(new Error(refusal));
      }
      stored.push(doc);
      return Promise.resolve({ acknowledged: true, insertedId: doc._id as unknown });
    },
    findOne: (filter: Document) => {
      if ('_id' in filter) return Promise.resolve(stored.find((d) => d._id === filter._id) ?? null);
      const last = stored.at(-1);
      return Promise.resolve(last ? { seq: last.seq as unknown, hash: last.hash as unknown } : (opts.head ?? null));
    },
  };
  return { col: col as unknown as Collection<Document>, stored, attempts: () => attempts };
}

describe('the audit chain\'s append on a briefly locked database (FerretDB SQLite)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('an audited action still gets its entry: tried again after busy and interrupted refusals, once written, with no gap in seq', async () => {
    const { col, stored, attempts } = lockedAudit([BUSY, INTERRUPTED]);
    const done = new ChainAppender(col).append({ action: 'login.ok', user: 'auditor1' });
    await vi.runAllTimersAsync();
    await expect(done).resolves.toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(attempts()).toBe(3);
    expect(stored).toHaveLength(1);
    expect(Number(stored[0]?.seq)).toBe(1);
  });

  it('after a chain of 41 entries the entry is seq 42, linked to the head', async () => {
    const { col, stored } = lockedAudit([BUSY], { head: { seq: 41, hash: 'a'.repeat(64) } });
    const done = new ChainAppender(col).append({ action: 'search' });
    await vi.runAllTimersAsync();
    await expect(done).resolves.toMatchObject({ seq: 42, prevHash: 'a'.repeat(64) });
    expect(stored.map((d) => Number(d.seq))).toEqual([42]);
  });

  it('a refused insert that was stored all the same is found by its own _id and not appended twice', async () => {
    const { col, stored, attempts } = lockedAudit([BUSY], { landed: true });
    const done = new ChainAppender(col).append({ action: 'logout' });
    await vi.runAllTimersAsync();
    await expect(done).resolves.toMatchObject({ seq: 1 });
    expect([attempts(), stored.length]).toEqual([1, 1]);
  });

  it('with a request\'s budget (4 s) it stops trying once the next attempt would pass it: refusals of 3 s each, two attempts', async () => {
    let attempts = 0;
    const col = {
      insertOne: () => {
        attempts++;
        return new Promise((_resolve, reject) => setTimeout(() => reject(new Error(BUSY)), 3_000));
      },
      findOne: () => Promise.resolve(null),
    } as unknown as Collection<Document>;
    const done = expect(new ChainAppender(col).append({ action: 'search' }, { budgetMs: 4_000 })).rejects.toThrow('database is locked (517)');
    await vi.runAllTimersAsync();
    await done;
    expect(attempts).toBe(2);
  });

  it('without a budget (background writers) it gives up with the database\'s error after six attempts', async () => {
    const { col, stored, attempts } = lockedAudit(Array.from({ length: 10 }, () => BUSY));
    const done = expect(new ChainAppender(col).append({ action: 'login.ok' })).rejects.toThrow('database is locked (517)');
    await vi.runAllTimersAsync();
    await done;
    expect(attempts()).toBe(6);
    expect(stored).toHaveLength(0);
  });
});
