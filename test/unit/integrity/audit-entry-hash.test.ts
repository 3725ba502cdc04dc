import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { auditEntryHash } from '../../../proxy/integrity/audit-chain.js';

describe('auditEntryHash', () => {
  it('covers a top-level field named __proto__ (as the driver returns it: an own field)', () => {
    const plain = { at: new Date(0), user: 'u', seq: new BSON.Int32(1), prevHash: '0'.repeat(64) };
    const stored = BSON.deserialize(BSON.serialize({ ...plain, ['__proto__']: 'added later' }), { promoteValues: false });
    expect(Object.keys(stored)).toContain('__proto__');
    const without = BSON.deserialize(BSON.serialize(plain), { promoteValues: false });
    expect(auditEntryHash(stored)).not.toBe(auditEntryHash(without));
  });
});
