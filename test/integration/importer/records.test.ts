import { BSON, Long, ObjectId, type Document } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProxyError, type ProxyError } from '../../../proxy/errors.js';
import { applyImport, planImport, recordSha256 } from '../../../proxy/importer/index.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID, LATER_ARCHIVE, extractedDir } from './extracted-dir.js';

const log = pino({ level: 'silent' });
const opts = { wtimeoutMs: 10_000, log, batchSize: 2 };

const LINES = [
  '{"_id":{"$oid":"650000000000000000000001"},"text":"hello","at":{"$date":"2024-05-01T10:00:00.000Z"},"n":{"$numberLong":"9007199254740993"},"nested":{"tags":["a","b"],"deep":{"x":1.5}}}',
  '',
  '{"_id":{"$oid":"650000000000000000000002"},"text":"[not] {a} \\"bracket\\"","at":{"$date":{"$numberLong":"1714557600000"}},"n":{"$numberInt":"7"}}',
].join('\r\n');

const PRETTY_ARRAY = `[
  {
    "_id": "conv-1",
    "participants": [ { "id": { "$oid": "650000000000000000000003" }, "name": "Ann" } ],
    "score": { "$numberDouble": "1.0" }
  },
  {
    "_id": "conv-2",
    "participants": [],
    "score": 2.5
  }
]
`;

async function catchCode(p: Promise<unknown>): Promise<ProxyError> {
  try {
    await p;
  } catch (err) {
    if (isProxyError(err)) return err;
    throw err;
  }
  throw new Error('expected a ProxyError');
}

describe('importing record files', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('records');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('imports line and array EJSON (pretty-printed, empty, unknown folder, missing _id) keeping types and _ids', async () => {
    const withoutId = { text: 'no id', n: 3 };
    const x = await extractedDir({
      'history/messages.json': LINES,
      'lc-data-server/conversations.json': PRETTY_ARRAY,
      'dynamic-phonebook/contacts.json': '\n  \n',
      'vendor-new/things.json': `${JSON.stringify(withoutId)}\n`,
    });
    try {
      const plan = await planImport(x.dir, x.entries, log);
      expect(plan.totalRecords).toBe(5);
      expect(plan.recordFiles.map((f) => [f.collection, f.records])).toEqual([
        ['history.messages', 2],
        ['lc-data-server.conversations', 2],
        ['dynamic-phonebook.contacts', 0],
        ['vendor-new.things', 1],
      ]);
      const result = await applyImport(t.db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, opts);
      expect(result.records).toBe(5);
      expect(result.recordCounts).toEqual({ 'history.messages': 2, 'lc-data-server.conversations': 2, 'dynamic-phonebook.contacts': 0, 'vendor-new.things': 1 });

      const m1Promoted = await t.db.collection('history.messages').findOne({ _id: new ObjectId('650000000000000000000001') }, { promoteLongs: false });
      expect(m1Promoted?.at).toEqual(new Date('2024-05-01T10:00:00.000Z'));
      expect(m1Promoted?.n).toEqual(Long.fromString('9007199254740993'));
      expect(m1Promoted?.nested).toEqual({ tags: ['a', 'b'], deep: { x: 1.5 } });
      const m2 = await t.db.collection('history.messages').findOne({ _id: new ObjectId('650000000000000000000002') });
      expect(m2?.text).toBe('[not] {a} "bracket"');
      expect(m2?.at).toEqual(new Date(1714557600000));

      const conv = await t.db.collection<{ _id: string; [key: string]: unknown }>('lc-data-server.conversations').findOne({ _id: 'conv-1' }, { promoteValues: false });
      // "1.0" stays a double, not an int32.
      expect((conv?.score as { _bsontype?: string } | undefined)?._bsontype).toBe('Double');

      const noId = await t.db.collection<{ _id: string; [key: string]: unknown }>('vendor-new.things').find().toArray();
      expect(noId).toHaveLength(1);
      const expectedId = recordSha256(BSON.EJSON.parse(JSON.stringify(withoutId), { relaxed: false }) as Document);
      expect(noId[0]?._id).toBe(expectedId);
      expect(noId[0]?._retention).toEqual({ jobId: JOB_ID, archive: ARCHIVE, createdAt: new Date('2024-05-01T02:00:00Z'), entry: 'vendor-new/things.json', sha256: expectedId });

      const stamp = m2?._retention as { sha256: string; entry: string };
      expect(stamp.entry).toBe('history/messages.json');
      expect(stamp.sha256).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await x.remove();
    }
  });

  it('re-importing the same archive twice leaves identical documents and counts', async () => {
    const x = await extractedDir({ 'history/calls.json': LINES, 'history/rooms.json': PRETTY_ARRAY, 'history/anon.json': '[{"a":1},{"a":2},{"a":3}]' });
    try {
      const plan = await planImport(x.dir, x.entries, log);
      const job = { jobId: JOB_ID, archive: ARCHIVE };
      await applyImport(t.db, x.dir, plan, job, opts);
      const snapshot = async (): Promise<unknown[]> => {
        const out: unknown[] = [];
        for (const c of ['history.calls', 'history.rooms', 'history.anon']) {
          const docs = await t.db.collection(c).find({}, { promoteValues: false }).sort({ _id: 1 }).toArray();
          out.push(c, docs.map((d) => BSON.EJSON.stringify(d, { relaxed: false })));
        }
        return out;
      };
      const first = await snapshot();
      const second = await applyImport(t.db, x.dir, await planImport(x.dir, x.entries, log), job, opts);
      expect(await snapshot()).toEqual(first);
      expect(second.recordCounts).toEqual({ 'history.calls': 2, 'history.rooms': 2, 'history.anon': 3 });
      expect(await t.db.collection('history.anon').countDocuments()).toBe(3);
    } finally {
      await x.remove();
    }
  });

  it('a later archive replaces the records it changed (150 of 200) and restamps all 200 with itself', async () => {
    const v1 = Array.from({ length: 200 }, (_, i) => JSON.stringify({ _id: i, v: 1 })).join('\n');
    const v2 = Array.from({ length: 200 }, (_, i) => JSON.stringify({ _id: i, v: i < 150 ? 2 : 1 })).join('\n');
    const run = async (content: string, archive: string): Promise<void> => {
      const x = await extractedDir({ 'history/changed.json': content });
      try {
        await applyImport(t.db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive }, { wtimeoutMs: 10_000, log, batchSize: 1000 });
      } finally {
        await x.remove();
      }
    };
    await run(v1, ARCHIVE);
    await run(v2, LATER_ARCHIVE);
    const coll = t.db.collection<{ _id: number; v: number; _retention: { archive: string } }>('history.changed');
    expect(await coll.countDocuments()).toBe(200);
    expect(await coll.countDocuments({ v: 2 })).toBe(150);
    expect(await coll.countDocuments({ '_retention.archive': LATER_ARCHIVE })).toBe(200);
    expect((await coll.findOne({ _id: 199 }))?.v).toBe(1);
  });

  it('an older archive imported after a newer one changes nothing, and re-importing the newest writes nothing', async () => {
    const EARLIER = `backup_svc-1_${JOB_ID}_20240430020000.zip`;
    const content = (v: number): string => Array.from({ length: 120 }, (_, i) => JSON.stringify({ _id: i, v })).join('\n');
    const run = async (collection: string, text: string, archive: string): Promise<void> => {
      const x = await extractedDir({ [`history/${collection}.json`]: text });
      try {
        await applyImport(t.db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive }, { wtimeoutMs: 10_000, log, batchSize: 40 });
      } finally {
        await x.remove();
      }
    };
    type Stored = { _id: number; v: number; _retention: { archive: string; createdAt: Date } };
    // Newer first, then older: the older one changes nothing.
    await run('newer_first', content(2), LATER_ARCHIVE);
    await run('newer_first', content(1), ARCHIVE);
    await run('newer_first', content(0), EARLIER);
    const seq = t.db.collection<Stored>('history.newer_first');
    expect(await seq.countDocuments({ v: 2, '_retention.archive': LATER_ARCHIVE })).toBe(120);
    expect((await seq.findOne({ _id: 0 }))?._retention.createdAt).toEqual(new Date('2024-05-02T02:00:00Z'));

    // Re-importing the newest archive writes nothing (a replace would drop this marker).
    await seq.updateOne({ _id: 5 }, { $set: { marker: true } });
    await run('newer_first', content(2), LATER_ARCHIVE);
    expect(await seq.countDocuments({ marker: true })).toBe(1);

    // A stored record without `createdAt` (imported before the field existed) is replaced by any delivery.
    await seq.updateMany({ _id: { $lt: 10 } }, { $unset: { '_retention.createdAt': '' } });
    await run('newer_first', content(1), ARCHIVE);
    expect(await seq.countDocuments({ v: 1 })).toBe(10);
  });

  it('a record repeated within one file ends as its last version', async () => {
    const x = await extractedDir({ 'history/repeat.json': '{"_id":"a","v":1}\n{"_id":"b","v":1}\n{"_id":"a","v":2}\n' });
    try {
      await applyImport(t.db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log });
      const coll = t.db.collection<{ _id: string; v: number }>('history.repeat');
      expect(await coll.countDocuments()).toBe(2);
      expect((await coll.findOne({ _id: 'a' }))?.v).toBe(2);
    } finally {
      await x.remove();
    }
  });

  it('planImport rejects a bad record with file and line, and nothing reaches the database', async () => {
    const good = '{"_id":1,"a":1}\n';
    const x = await extractedDir({
      'history/ok.json': good,
      'history/bad.json': '{"_id":1}\n{"_id":2}\n{"_id":3,"broken":\n',
    });
    try {
      const err = await catchCode(planImport(x.dir, x.entries, log));
      expect(err.code).toBe('RECORD_INVALID');
      expect(err.details).toMatchObject({ file: 'history/bad.json', line: 3 });
      expect(await t.db.listCollections({ name: /^history\.(ok|bad)$/ }).toArray()).toHaveLength(0);
    } finally {
      await x.remove();
    }
  });

  it('rejects array elements that are not documents, with their element number', async () => {
    const x = await extractedDir({ 'history/arr.json': '[{"a":1}, 42]' });
    try {
      const err = await catchCode(planImport(x.dir, x.entries, log));
      expect(err.code).toBe('RECORD_INVALID');
      expect(err.details).toMatchObject({ file: 'history/arr.json', element: 2 });
    } finally {
      await x.remove();
    }
  });

  it('rejects an unterminated array, a non-JSON file and a top-level $ field', async () => {
    for (const content of ['[{"a":1},', 'hello', '{"$set":{"a":1}}\n', '{"$oid":"650000000000000000000001"}\n']) {
      const x = await extractedDir({ 'history/x.json': content });
      try {
        expect((await catchCode(planImport(x.dir, x.entries, log))).code).toBe('RECORD_INVALID');
      } finally {
        await x.remove();
      }
    }
  });

  it('refuses to import when a file changed after extraction', async () => {
    const x = await extractedDir({ 'history/x.json': '{"a":1}\n' });
    try {
      const entries = x.entries.map((e) => ({ ...e, crc32: (e.crc32 + 1) >>> 0 }));
      expect((await catchCode(planImport(x.dir, entries, log))).code).toBe('STAGING_FILE_CHANGED');
    } finally {
      await x.remove();
    }
  });
});
