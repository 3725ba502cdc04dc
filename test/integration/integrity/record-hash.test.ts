import { createHash } from 'node:crypto';
import { BSON, type Document } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyImport, planImport } from '../../../proxy/importer/index.js';
import { EXACT_READ, storedRecordHash } from '../../../proxy/integrity/record-hash.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID, extractedDir } from '../importer/extracted-dir.js';

const log = pino({ level: 'silent' });

// Records whose hash is easy to get wrong when recomputed from the stored document: `_id` not first, no `_id`,
// integer-like keys, every number type, nested documents and arrays, dates, binaries, non-ASCII and control text.
const LINES = [
  '{"a":{"$numberInt":"1"},"_id":{"$oid":"650000000000000000000001"},"d":{"$numberDouble":"1.0"},"l":{"$numberLong":"5"}}',
  '{"_id":"s-2","10":"ten","2":"two","z":{"9":1,"b":[1,2.5,{"$numberLong":"9007199254740993"}]},"t":"é\\u0001\\"","dt":{"$date":"2024-05-01T10:00:00.000Z"}}',
  '{"text":"no id","n":3,"bin":{"$binary":{"base64":"aGk=","subType":"00"}},"nul":null,"e":{},"big":1e21}',
  '{"_id":{"$numberLong":"7"},"x":{"$numberDouble":"-1.5E-7"}}',
].join('\n');

describe('the record hash recomputed from what is stored', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('rechash');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('equals _retention.sha256 for every imported record, and is sha256 of the documented canonical text', async () => {
    const x = await extractedDir({ 'vendor-new/things.json': `${LINES}\n` });
    try {
      const plan = await planImport(x.dir, x.entries, log);
      await applyImport(t.db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log, batchSize: 10 });
    } finally {
      await x.remove();
    }
    const stored = await t.db.collection('vendor-new.things').find({}, EXACT_READ).toArray();
    expect(stored).toHaveLength(4);
    for (const doc of stored) {
      const { recorded, computed } = storedRecordHash(doc);
      expect(computed, BSON.EJSON.stringify(doc)).toBe(recorded);
    }
    // The documented recipe, spelled out: drop _retention, canonical EJSON with _id first (a JS object lists
    // integer-like keys first, so Node builds the text around _id; Python's dicts keep the stored order), sha256.
    const s2 = stored.find((d) => (d._id as unknown) === 's-2') as Document;
    const { _retention: stamp, _id: id, ...rest } = s2;
    const text = `{"_id":${BSON.EJSON.stringify(id, { relaxed: false })},${BSON.EJSON.stringify(rest, { relaxed: false }).slice(1)}`;
    expect(text.startsWith('{"_id":"s-2","2":"two","10":"ten","z":{"9":{"$numberInt":"1"},"b":[')).toBe(true);
    expect(createHash('sha256').update(text).digest('hex')).toBe((stamp as { sha256: string }).sha256);
  });

  it('changes when one field of a stored record changes (one character, or only its BSON type)', async () => {
    const coll = t.db.collection('vendor-new.things');
    await coll.updateOne({ _id: 's-2' } as Document, { $set: { t: 'e\u0001"' } });
    const a = storedRecordHash((await coll.findOne({ _id: 's-2' } as Document, EXACT_READ)) as Document);
    expect(a.computed).not.toBe(a.recorded);
    const id = new BSON.ObjectId('650000000000000000000001');
    await coll.updateOne({ _id: id }, { $set: { l: new BSON.Int32(5) } });
    const b = storedRecordHash((await coll.findOne({ _id: id }, EXACT_READ)) as Document);
    expect(b.computed).not.toBe(b.recorded);
  });
});

describe('a field named __proto__', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('rechashproto');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('is part of the recomputed hash: imported with it verifies, set through the driver is changed', async () => {
    const x = await extractedDir({ 'vendor-new/protos.json': '{"_id":"p-1","__proto__":{"$numberInt":"1"},"a":"x"}\n{"_id":"p-2","a":"y"}\n' });
    try {
      const plan = await planImport(x.dir, x.entries, log);
      await applyImport(t.db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log, batchSize: 10 });
    } finally {
      await x.remove();
    }
    const coll = t.db.collection('vendor-new.protos');
    const p1 = storedRecordHash((await coll.findOne({ _id: 'p-1' } as Document, EXACT_READ)) as Document);
    expect(p1.computed).toBe(p1.recorded);
    await coll.updateOne({ _id: 'p-2' } as Document, { $set: { ['__proto__']: 'tampered' } });
    const stored = (await coll.findOne({ _id: 'p-2' } as Document, EXACT_READ)) as Document;
    expect(Object.keys(stored)).toContain('__proto__');
    const p2 = storedRecordHash(stored);
    expect(p2.computed).not.toBe(p2.recorded);
  });
});
