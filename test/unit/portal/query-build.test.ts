import { describe, expect, it } from 'vitest';
import { isProxyError } from '../../../proxy/errors.js';
import { buildListQuery } from '../../../proxy/portal/queries/build.js';
import { encodeCursor } from '../../../proxy/portal/queries/cursor.js';
import { escapeRegex } from '../../../proxy/portal/queries/regex.js';
import { LIST_DEFS, type ListQuery } from '../../../proxy/portal/queries/types.js';

/** Every key of a filter, at any depth. */
function keysOf(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) keysOf(x, out);
  else if (v && typeof v === 'object' && !(v instanceof Date)) for (const [k, x] of Object.entries(v)) { out.push(k); keysOf(x, out); }
  return out;
}

const ALLOWED_OPERATORS = new Set(['$and', '$or', '$gte', '$lte', '$gt', '$lt', '$regex', '$options', '$in', '$exists', '$ne']);
/**
 * Every auditor list leaves out archived records (retention) and earlier versions of a person or room (one person,
 * one identity): proxy/portal/queries/visible.ts.
 */
const NOT_ARCHIVED = { _archived: { $exists: false }, '_retention.superseded': { $ne: true } };

function validationError(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (err) {
    return isProxyError(err, 'VALIDATION');
  }
}

describe('list query building', () => {
  it('maps each filter to its allow-listed fields with plain string values', () => {
    const q = buildListQuery(LIST_DEFS.calls, { staff: 's-1', direction: 'inbound', number: '+852', from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' });
    expect(q.filter).toEqual({
      $and: [
        NOT_ARCHIVED,
        { startedAt: { $gte: new Date('2026-03-01T00:00:00Z'), $lte: new Date('2026-03-02T00:00:00Z') } },
        { $or: [{ 'from.id': 's-1' }, { 'to.id': 's-1' }] },
        { direction: 'inbound' },
        { $or: [{ 'from.number': { $regex: '\\+852', $options: 'i' } }, { 'to.number': { $regex: '\\+852', $options: 'i' } }] },
      ],
    });
    expect(q.sort).toEqual({ startedAt: -1, _id: -1 });
    expect(buildListQuery(LIST_DEFS.voicemails, {}).filter).toEqual({ $and: [{ category: 'voicemail' }, NOT_ARCHIVED] });
    expect(buildListQuery(LIST_DEFS.staff, {}).filter).toEqual(NOT_ARCHIVED);
    expect(buildListQuery(LIST_DEFS.staff, {}).sort).toEqual({ displayName: 1, _id: 1 });
  });

  it('escapes regular-expression input: q=.* matches the two characters literally', () => {
    const q = buildListQuery(LIST_DEFS.messages, { q: '.*' });
    expect(q.filter).toEqual({ $and: [NOT_ARCHIVED, { $or: [{ text: { $regex: '\\.\\*', $options: 'i' } }] }] });
    for (const s of ['.*', '^a$', '(a+)+', '[x]', 'a|b', '\\', '{1,2}', '$where', 'a-b/c']) {
      expect(new RegExp(escapeRegex(s)).test(s), s).toBe(true);
      expect(new RegExp(`^${escapeRegex(s)}$`).test(`${s}x`), s).toBe(false);
    }
  });

  it('refuses operator objects, arrays and numbers where strings belong (hostile input that bypassed the schema)', () => {
    const hostile: ListQuery[] = [
      { room: { $ne: '' } as never },
      { q: { $regex: '.*' } as never },
      { staff: ['a', 'b'] as never },
      { direction: 1 },
      { from: { $gt: '' } as never },
      { sort: '$where' },
      { sort: '_retention.jobId' },
      { order: 'sideways' as never },
      { cursor: { $gt: '' } as never },
      { from: 'not a date' },
    ];
    for (const h of hostile) expect(validationError(() => buildListQuery(LIST_DEFS.calls, h)), JSON.stringify(h)).toBe(true);
  });

  it('never produces a key that is not an allow-listed field or a known operator, whatever the strings hold', () => {
    const evil = '{"$where":"sleep(1000)"}';
    const q = buildListQuery(LIST_DEFS.enquiries, { q: evil, staff: '$ne', contact: evil, room: '$gt', channel: evil, result: evil, tag: evil, enquiry: evil });
    const fields = new Set([...Object.values(LIST_DEFS.enquiries.params).flatMap((p) => p.fields), ...LIST_DEFS.enquiries.text, '_archived', '_retention.superseded']);
    for (const k of keysOf(q.filter)) expect(ALLOWED_OPERATORS.has(k) || fields.has(k), k).toBe(true);
    const values = JSON.stringify(q.filter);
    expect(values).toContain('"channel":"{\\"$where\\":\\"sleep(1000)\\"}"');
  });

  it('continues after the cursor on (sortField, _id) in the sort direction', () => {
    const cursor = encodeCursor({ field: 'durationSec', order: 'asc', value: 60, id: 'x' });
    const q = buildListQuery(LIST_DEFS.calls, { sort: 'durationSec', order: 'asc', cursor });
    expect(q.filter).toEqual({ $and: [NOT_ARCHIVED, { $or: [{ durationSec: { $gt: 60 } }, { durationSec: 60, _id: { $gt: 'x' } }] }] });
    expect(validationError(() => buildListQuery(LIST_DEFS.calls, { cursor }))).toBe(true);
  });
});
