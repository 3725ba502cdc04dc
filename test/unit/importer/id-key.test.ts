import { Binary, BSON, Double, Int32, Long, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { idKey } from '../../../proxy/importer/upsert-batch.js';

describe('idKey: equal exactly when the unique _id index sees one value', () => {
  it('numbers by value whatever their BSON type (Int32 1, Double 1.0, Long 1, a JS number)', () => {
    const parsed = ['{"_id":1}', '{"_id":{"$numberDouble":"1"}}', '{"_id":{"$numberLong":"1"}}'].map((t) => (BSON.EJSON.parse(t, { relaxed: false }) as { _id: unknown })._id);
    const keys = new Set([...parsed, new Int32(1), new Double(1), Long.fromNumber(1), 1].map(idKey));
    expect(keys.size).toBe(1);
    expect(idKey(new Int32(2))).not.toBe(idKey(1));
  });

  it("strings, numbers and ObjectIds never collide; 1 and '1' differ", () => {
    const oid = new ObjectId();
    const keys = [1, '1', 'n:1', oid, oid.toHexString(), true, 'true', null].map(idKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(idKey(new ObjectId(oid.toHexString()))).toBe(idKey(oid));
  });

  it('Binary by subtype and bytes; documents by canonical Extended JSON, field order included', () => {
    const bytes = Buffer.from('abc');
    expect(idKey(new Binary(bytes, 0))).toBe(idKey(new Binary(Buffer.from('abc'), 0)));
    expect(idKey(new Binary(bytes, 0))).not.toBe(idKey(new Binary(bytes, 4)));
    expect(idKey({ a: 1, b: 'x' })).toBe(idKey({ a: 1, b: 'x' }));
    expect(idKey({ a: 1, b: 'x' })).not.toBe(idKey({ b: 'x', a: 1 }));
    expect(idKey(undefined)).toBe(idKey(null));
  });
});
