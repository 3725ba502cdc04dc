import { describe, expect, it } from 'vitest';
import { beats, cutoffs, winner } from '../../../proxy/retention/selection.js';
import { validateHoldScope, validatePolicyInput, validatePolicyPatch } from '../../../proxy/retention/validate.js';
import type { Policy } from '../../../proxy/retention/types.js';

const policy = (id: string, activeDays: number, archiveDays: number): Policy => ({
  _id: id, name: id, dataType: 'calls', scope: { kind: 'all' }, activeDays, archiveDays, mode: 'enforce', source: 'portal',
  createdAt: new Date(0), createdBy: 'a', updatedAt: new Date(0), updatedBy: 'a',
});
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('retention precedence: the policy that keeps a record longest wins', () => {
  it('largest activeDays + archiveDays, then larger activeDays, then the smaller id', () => {
    expect(winner([policy('a', 100, 100), policy('b', 150, 60)])?._id).toBe('b');
    expect(winner([policy('a', 100, 100), policy('b', 150, 50)])?._id).toBe('b');
    expect(winner([policy('b', 150, 50), policy('a', 150, 50)])?._id).toBe('a');
    expect(winner([])).toBeNull();
    expect(beats(policy('x', 1, 0), policy('x', 1, 0))).toBe(false);
  });

  it('cutoffs: archive after activeDays, destroy after activeDays + archiveDays', () => {
    const now = new Date('2026-12-02T00:00:00Z');
    const c = cutoffs({ activeDays: 10, archiveDays: 5 }, now);
    expect(c.archive.toISOString()).toBe('2026-11-22T00:00:00.000Z');
    expect(c.destroy.toISOString()).toBe('2026-11-17T00:00:00.000Z');
  });
});

describe('retention policy validation', () => {
  const ok = { id: 'calls-2y', name: 'Calls', dataType: 'calls', scope: { kind: 'all' }, activeDays: 730, archiveDays: 0 };

  it('accepts a valid policy and each scope where it fits', () => {
    expect(validatePolicyInput(ok)).toEqual(ok);
    expect(validatePolicyInput({ ...ok, scope: { kind: 'room', ids: ['r1'] } }).scope).toEqual({ kind: 'room', ids: ['r1'] });
    expect(validatePolicyInput({ ...ok, dataType: 'enquiries', scope: { kind: 'channel', values: ['web'] } }).scope.kind).toBe('channel');
    expect(validatePolicyInput({ ...ok, dataType: 'staff', scope: { kind: 'department', values: ['sales'] } }).scope.kind).toBe('department');
    expect(validatePolicyInput({ ...ok, dataType: 'media:voicemail', scope: { kind: 'room', ids: ['r1'] } }).dataType).toBe('media:voicemail');
  });

  it('refuses scopes that do not fit the data, bad ids, unknown types and days out of 1..5000 / 0..5000', () => {
    expect(code(() => validatePolicyInput({ ...ok, scope: { kind: 'channel', values: ['web'] } }))).toBe('VALIDATION');
    expect(code(() => validatePolicyInput({ ...ok, dataType: 'contacts', scope: { kind: 'room', ids: ['r1'] } }))).toBe('VALIDATION');
    expect(code(() => validatePolicyInput({ ...ok, dataType: 'rooms', scope: { kind: 'department', values: ['x'] } }))).toBe('VALIDATION');
    expect(code(() => validatePolicyInput({ ...ok, scope: { kind: 'room', ids: [] } }))).toBe('VALIDATION');
    expect(code(() => validatePolicyInput({ ...ok, scope: { kind: 'all', ids: ['x'] } }))).toBe('VALIDATION');
    expect(code(() => validatePolicyInput({ ...ok, id: 'Has Spaces' }))).toBe('VALIDATION');
    expect(code(() => validatePolicyInput({ ...ok, dataType: 'media:fax' }))).toBe('VALIDATION');
    expect(code(() => validatePolicyInput({ ...ok, activeDays: 0 }))).toBe('VALIDATION');
    expect(code(() => validatePolicyInput({ ...ok, activeDays: 5001 }))).toBe('VALIDATION');
    expect(code(() => validatePolicyInput({ ...ok, archiveDays: -1 }))).toBe('VALIDATION');
    expect(code(() => validatePolicyInput({ ...ok, archiveDays: 1.5 }))).toBe('VALIDATION');
    expect(code(() => validatePolicyPatch('calls', { mode: 'enforce' }))).toBe('VALIDATION');
    expect(code(() => validatePolicyPatch('calls', { dataType: 'rooms' }))).toBe('VALIDATION');
  });

  it('a hold needs a scope: people, rooms, enquiries or a date range, from not after to', () => {
    expect(validateHoldScope({ staff: ['s1'], from: '2020-01-01T00:00:00Z' })).toEqual({ staff: ['s1'], from: new Date('2020-01-01T00:00:00Z') });
    expect(code(() => validateHoldScope({}))).toBe('VALIDATION');
    expect(code(() => validateHoldScope({ staff: [] }))).toBe('VALIDATION');
    expect(code(() => validateHoldScope({ from: 'yesterday' }))).toBe('VALIDATION');
    expect(code(() => validateHoldScope({ from: '2021-01-01T00:00:00Z', to: '2020-01-01T00:00:00Z' }))).toBe('VALIDATION');
    expect(code(() => validateHoldScope({ people: ['x'] }))).toBe('VALIDATION');
  });
});
