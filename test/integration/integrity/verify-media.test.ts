import { createHash } from 'node:crypto';
import { BSON, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayHashes } from '../../../proxy/integrity/day-hashes.js';
import { emptyCounts, type Problem } from '../../../proxy/integrity/problems.js';
import { verifyMediaFiles } from '../../../proxy/integrity/verify-media.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

const CHUNK = 4;
const ARCHIVE = 'day.zip';

/** A GridFS file of `bytes` in chunks of 4 bytes, its chunks inserted in the order `order` gives (default: by n). */
async function putFile(t: TestDatabase, id: string, bytes: Buffer, order?: (ns: number[]) => number[], archive = 'other.zip'): Promise<void> {
  const ns = Array.from({ length: Math.ceil(bytes.length / CHUNK) }, (_, n) => n);
  for (const n of order ? order(ns) : ns) {
    await t.db.collection('media.chunks').insertOne({ files_id: id, n, data: new BSON.Binary(bytes.subarray(n * CHUNK, (n + 1) * CHUNK)) });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await t.db.collection('media.files').insertOne({ _id: id, length: bytes.length, chunkSize: CHUNK, uploadDate: new Date(), filename: id, metadata: { sha256, archive } } as unknown as Document);
}

describe('media verification reads the chunks of a batch of files by one query', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('vmedia');
    // 14 files: more than one batch of 10. Chunks out of stored order, a duplicate chunk, a short chunk.
    for (let i = 0; i < 11; i++) await putFile(t, `clean/${String(i).padStart(2, '0')}`, Buffer.from(`file number ${String(i)}`), undefined, ARCHIVE);
    await putFile(t, 'reversed', Buffer.from('stored last chunk first'), (ns) => ns.reverse(), ARCHIVE);
    await putFile(t, 'duplicate', Buffer.from('one chunk twice'));
    await t.db.collection('media.chunks').insertOne({ files_id: 'duplicate', n: 1, data: new BSON.Binary(Buffer.from(' chu')) });
    await putFile(t, 'short', Buffer.from('a chunk is short'));
    await t.db.collection('media.chunks').updateOne({ files_id: 'short', n: 2 }, { $set: { data: new BSON.Binary(Buffer.from('is')) } });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('verifies files whose chunks are stored out of order, across batches, and still names a duplicate and a short chunk', async () => {
    const problems: Problem[] = [];
    const counts = emptyCounts();
    const after: string[] = [];
    await verifyMediaFiles(t.db, {}, (p) => problems.push(p), counts, undefined, (id) => {
      after.push(String(id));
      return Promise.resolve();
    });
    expect(problems.map((p) => `${p.kind} ${p.id} ${p.detail}`).sort()).toEqual([
      'changed short chunk 2 holds 2 bytes, expected 4',
      'missing duplicate chunk 1 is stored twice',
    ]);
    expect(counts.mediaFiles).toBe(14);
    expect(after).toEqual([...after].sort()); // the sweep's checkpoint order: by _id, each file once
    expect(new Set(after).size).toBe(14);
  });

  it('verify --digest re-hashes the same files by the same batches: the recomputed hashes equal the recorded ones', async () => {
    const recorded = await dayHashes(t.db, [ARCHIVE], 'recorded');
    const recomputed = await dayHashes(t.db, [ARCHIVE], 'recomputed');
    expect(recomputed.get('media.files')?.count).toBe(12);
    expect(recomputed.get('media.files')?.root()).toBe(recorded.get('media.files')?.root());
  });
});
