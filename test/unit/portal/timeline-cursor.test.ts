import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isProxyError } from '../../../proxy/errors.js';
import { TIMELINE_SOURCES } from '../../../proxy/portal/person/sources.js';
import { afterPosition, compareIds, decodeTimelineCursor, encodeTimelineCursor } from '../../../proxy/portal/person/timeline-cursor.js';
import { escapeHtml } from '../../../proxy/portal/person/transcript.js';

const source = (type: string) => TIMELINE_SOURCES.find((s) => s.type === type) ?? (() => { throw new Error(type); })();

describe('person timeline cursor and transcript escaping', () => {
  it('a cursor round-trips (time, type, ObjectId or string _id); anything else is 400 VALIDATION', () => {
    const at = new Date('2026-03-02T10:00:00Z');
    const id = new ObjectId();
    expect(decodeTimelineCursor(encodeTimelineCursor({ at, type: 'call', id }))).toEqual({ at, type: 'call', id });
    expect(decodeTimelineCursor(encodeTimelineCursor({ at, type: 'file', id: 'abc' }))).toEqual({ at, type: 'file', id: 'abc' });
    for (const bad of ['abc', Buffer.from('["x","call",{"s":"a"}]').toString('base64url'), Buffer.from('["2026-03-02T10:00:00Z","nope",{"s":"a"}]').toString('base64url'), Buffer.from('["2026-03-02T10:00:00Z","call",{"$gt":""}]').toString('base64url')]) {
      let err: unknown;
      try {
        decodeTimelineCursor(bad);
      } catch (e) {
        err = e;
      }
      expect(isProxyError(err, 'VALIDATION'), bad).toBe(true);
    }
  });

  it('after a position: earlier types strictly later, later types from the same instant, the same type by _id', () => {
    const at = new Date('2026-03-02T10:00:00Z');
    const id = new ObjectId();
    const p = { at, type: 'call' as const, id };
    expect(afterPosition(source('message'), p)).toEqual({ sentAt: { $gt: at } });
    expect(afterPosition(source('file'), p)).toEqual({ uploadedAt: { $gte: at } });
    expect(afterPosition(source('call'), p)).toEqual({ $or: [{ startedAt: { $gt: at } }, { $and: [{ startedAt: at }, { _id: { $gt: id } }] }] });
  });

  it('orders _ids as MongoDB does: strings before ObjectIds, ObjectIds by bytes', () => {
    const a = new ObjectId('000000000000000000000001');
    const b = new ObjectId('000000000000000000000002');
    expect(compareIds(a, b)).toBeLessThan(0);
    expect(compareIds('zzz', a)).toBeLessThan(0);
    expect(compareIds('a', 'a')).toBe(0);
  });

  it('escapes every character that could open markup, an attribute or an entity', () => {
    expect(escapeHtml('<script>alert("x")</script> & \'y\' `z`')).toBe('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;y&#39; &#96;z&#96;');
    expect(escapeHtml(null)).toBe('');
  });
});
