import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isProxyError } from '../../../proxy/errors.js';
import { parseRecord, recordSha256, stampRecord } from '../../../proxy/importer/record-document.js';

const job = { jobId: 'job-1', archive: 'backup_s_0b7f3c1e-2a4d-4e8f-9c1a-5d6e7f8a9b0c_20240101000000.zip' };

describe('parseRecord and stampRecord', () => {
  it('keeps Extended JSON types exactly (canonical and relaxed input)', () => {
    const doc = parseRecord('{"_id":{"$oid":"650000000000000000000001"},"l":{"$numberLong":"5"},"d":{"$numberDouble":"1.0"},"i":3,"f":2.5,"t":{"$date":"2024-01-01T00:00:00Z"}}', 'f.json', 'line', 1);
    expect(doc._id).toBeInstanceOf(BSON.ObjectId);
    expect(doc.l).toBeInstanceOf(BSON.Long);
    expect(doc.d).toBeInstanceOf(BSON.Double);
    expect(doc.i).toBeInstanceOf(BSON.Int32);
    expect(doc.t).toEqual(new Date('2024-01-01T00:00:00Z'));
  });

  it('gives the same sha256 for canonical and relaxed spellings of the same record', () => {
    const a = parseRecord('{"_id":1,"t":{"$date":"2024-01-01T00:00:00Z"},"n":{"$numberInt":"7"}}', 'f', 'line', 1);
    const b = parseRecord('{"_id":{"$numberInt":"1"},"t":{"$date":{"$numberLong":"1704067200000"}},"n":7}', 'f', 'line', 1);
    expect(recordSha256(a)).toBe(recordSha256(b));
  });

  it('stamps _retention deterministically and uses the sha256 as _id when the record has none', () => {
    const text = '{"a":1,"b":"x"}';
    const one = stampRecord(parseRecord(text, 'h/m.json', 'line', 1), job, 'h/m.json');
    const two = stampRecord(parseRecord(text, 'h/m.json', 'line', 1), job, 'h/m.json');
    expect(BSON.EJSON.stringify(one)).toBe(BSON.EJSON.stringify(two));
    expect(one._id).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(one)).toEqual(['_id', 'a', 'b', '_retention']);
    expect(one._retention).toEqual({ jobId: 'job-1', archive: job.archive, createdAt: new Date('2024-01-01T00:00:00Z'), entry: 'h/m.json', sha256: one._id as string });
  });

  it('rejects the reserved top-level fields _archived and _retention (RECORD_INVALID), not nested ones', () => {
    for (const text of ['{"a":1,"_archived":null}', '{"_retention":{"sha256":"x"}}']) {
      try {
        parseRecord(text, 'h/m.json', 'line', 3);
        expect.unreachable(`accepted ${text}`);
      } catch (err) {
        expect(isProxyError(err, 'RECORD_INVALID')).toBe(true);
        expect((err as Error).message).toMatch(/field '_(archived|retention)' is reserved by the proxy/);
      }
    }
    expect(parseRecord('{"a":{"_archived":"x"}}', 'h/m.json', 'line', 1)).toEqual({ a: { _archived: 'x' } });
  });

  it('throws RECORD_INVALID with the position for non-documents and bad JSON', () => {
    for (const [text, kind] of [['[1]', 'line'], ['"x"', 'element'], ['{"a":', 'line'], ['{"$date":"2024-01-01T00:00:00Z"}', 'line'], ['{"_id":[1]}', 'line']] as const) {
      try {
        parseRecord(text, 'h/m.json', kind, 9);
        expect.unreachable(`accepted ${text}`);
      } catch (err) {
        expect(isProxyError(err, 'RECORD_INVALID')).toBe(true);
        expect(isProxyError(err) && err.details).toEqual({ file: 'h/m.json', [kind]: 9 });
      }
    }
  });
});
