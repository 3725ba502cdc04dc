import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isProxyError } from '../../../proxy/errors.js';
import { decodeCursor, encodeCursor } from '../../../proxy/portal/queries/cursor.js';

describe('cursor codec', () => {
  it('round-trips dates, strings, numbers, booleans and null with ObjectId or string ids, as opaque base64url', () => {
    const id = new ObjectId();
    for (const value of [new Date('2026-03-01T01:02:03.004Z'), 'Alice Chan', 184, 0, true, null]) {
      const text = encodeCursor({ field: 'f', order: 'desc', value, id });
      expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(text, { field: 'f', order: 'desc' })).toEqual({ field: 'f', order: 'desc', value, id });
    }
    const s = encodeCursor({ field: 'at', order: 'asc', value: 'x', id: 'data-retention/a.wav' });
    expect(decodeCursor(s, { field: 'at', order: 'asc' }).id).toBe('data-retention/a.wav');
  });

  it('refuses a cursor of another sort or order, and anything forged, with VALIDATION', () => {
    const text = encodeCursor({ field: 'startedAt', order: 'desc', value: new Date(0), id: new ObjectId() });
    const forged = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const [bad, expect_] of [
      [text, { field: 'durationSec', order: 'desc' }],
      [text, { field: 'startedAt', order: 'asc' }],
      ['not base64 json', { field: 'startedAt', order: 'desc' }],
      [forged(['startedAt', 'desc', { $gt: 1 }, { o: '0'.repeat(24) }]), { field: 'startedAt', order: 'desc' }],
      [forged(['startedAt', 'desc', { s: 'a', n: 1 }, { o: '0'.repeat(24) }]), { field: 'startedAt', order: 'desc' }],
      [forged(['startedAt', 'desc', { d: 'yesterday' }, { o: '0'.repeat(24) }]), { field: 'startedAt', order: 'desc' }],
      [forged(['startedAt', 'desc', { s: 'a' }, { o: { $ne: 1 } }]), { field: 'startedAt', order: 'desc' }],
      [forged(['startedAt', 'desc', { s: 'a' }]), { field: 'startedAt', order: 'desc' }],
    ] as const) {
      let err: unknown;
      try {
        decodeCursor(bad, expect_);
      } catch (e) {
        err = e;
      }
      expect(isProxyError(err, 'VALIDATION'), bad).toBe(true);
    }
  });
});
