import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GridFSBucket, type Db } from 'mongodb';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MEDIA_BUCKET, applyImport, ensureImportIndexes, planImport, type ImportEntry } from '../../../proxy/importer/index.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID, LATER_ARCHIVE, extractedDir, sha256 } from './extracted-dir.js';

const log = pino({ level: 'silent' });
const opts = { wtimeoutMs: 10_000, log };

async function download(db: Db, id: string, range?: { start: number; end: number }): Promise<Buffer> {
  const bucket = new GridFSBucket(db, { bucketName: MEDIA_BUCKET });
  const parts: Buffer[] = [];
  // GridFS ids are typed as ObjectId by the driver; ours are archive paths.
  const stream = bucket.openDownloadStream(id as never, range ?? {});
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function importFiles(db: Db, files: Record<string, string | Buffer>, archive = ARCHIVE): Promise<{ entries: ImportEntry[]; uploaded: number }> {
  const x = await extractedDir(files);
  try {
    const plan = await planImport(x.dir, x.entries, log);
    const result = await applyImport(db, x.dir, plan, { jobId: JOB_ID, archive }, opts);
    return { entries: x.entries, uploaded: result.filesUploaded };
  } finally {
    await x.remove();
  }
}

describe('importing binaries into GridFS', () => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await testDatabase('media');
  });
  afterEach(async () => {
    await t.drop();
  });

  it('stores every binary with _id = path, sha256 metadata and identical content, and serves ranged reads', async () => {
    const audio = randomBytes(600 * 1024 + 17); // several 255 KiB chunks
    const files = {
      'data-retention/2024/05/call-1.mp3': audio,
      'data-retention/meta/info.json': '{"not":"a record"}',
      'history/attachment.PDF': Buffer.from('%PDF-1.4 small'),
      'history/messages.json': '{"_id":1}\n',
    };
    const x = await extractedDir(files);
    try {
      const plan = await planImport(x.dir, x.entries, log);
      expect(plan.binaries.map((b) => b.path).sort()).toEqual(['data-retention/2024/05/call-1.mp3', 'data-retention/meta/info.json', 'history/attachment.PDF']);
      await ensureImportIndexes(t.db);
      const result = await applyImport(t.db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, opts);
      expect(result.files).toBe(3);
      expect(result.filesUploaded).toBe(3);
      expect(result.bytes).toBe(audio.length + 18 + 14);
      expect(result.records).toBe(1);
    } finally {
      await x.remove();
    }

    const doc = await t.db.collection<{ _id: string; [key: string]: unknown }>(`${MEDIA_BUCKET}.files`).findOne({ _id: 'data-retention/2024/05/call-1.mp3' });
    expect(doc?.filename).toBe('data-retention/2024/05/call-1.mp3');
    expect(doc?.length).toBe(audio.length);
    expect(doc?.metadata).toEqual({ sha256: sha256(audio), size: audio.length, jobId: JOB_ID, archive: ARCHIVE, contentType: 'audio/mpeg' });
    expect((await download(t.db, 'data-retention/2024/05/call-1.mp3')).equals(audio)).toBe(true);
    const ranged = await download(t.db, 'data-retention/2024/05/call-1.mp3', { start: 300_000, end: 300_100 });
    expect(ranged.equals(audio.subarray(300_000, 300_100))).toBe(true);

    const pdf = await t.db.collection<{ _id: string; [key: string]: unknown }>(`${MEDIA_BUCKET}.files`).findOne({ _id: 'history/attachment.PDF' });
    expect(pdf?.metadata).toMatchObject({ contentType: 'application/pdf' });
    const json = await t.db.collection<{ _id: string; [key: string]: unknown }>(`${MEDIA_BUCKET}.files`).findOne({ _id: 'data-retention/meta/info.json' });
    expect(json?.metadata).toMatchObject({ contentType: 'application/json' });
  });

  it('re-import skips unchanged files; a changed file from a later archive replaces it; an older archive does not', async () => {
    const path = 'data-retention/a.wav';
    const v1 = randomBytes(1000);
    const v2 = randomBytes(2000);
    expect((await importFiles(t.db, { [path]: v1 })).uploaded).toBe(1);
    expect((await importFiles(t.db, { [path]: v1 })).uploaded).toBe(0);
    expect(await t.db.collection(`${MEDIA_BUCKET}.files`).countDocuments()).toBe(1);

    expect((await importFiles(t.db, { [path]: v2 }, LATER_ARCHIVE)).uploaded).toBe(1);
    expect((await download(t.db, path)).equals(v2)).toBe(true);
    expect(await t.db.collection(`${MEDIA_BUCKET}.chunks`).countDocuments({ files_id: path })).toBe(1);

    // Importing the older archive again keeps the newer content.
    expect((await importFiles(t.db, { [path]: v1 }, ARCHIVE)).uploaded).toBe(0);
    expect((await download(t.db, path)).equals(v2)).toBe(true);
    const meta = await t.db.collection<{ _id: string; [key: string]: unknown }>(`${MEDIA_BUCKET}.files`).findOne({ _id: path });
    expect(meta?.metadata).toMatchObject({ archive: LATER_ARCHIVE, sha256: sha256(v2) });
  });

  it('deletes orphan chunks left by a crash mid-upload before uploading again', async () => {
    const path = 'data-retention/crash.mp4';
    const content = randomBytes(300 * 1024);
    // What a crash mid-upload leaves: the upload marker, chunks with that files_id, and no files document.
    await t.db.collection<{ _id: string }>(`${MEDIA_BUCKET}.uploads`).insertOne({ _id: path });
    const chunks = t.db.collection<{ files_id: string; n: number; data: Buffer }>(`${MEDIA_BUCKET}.chunks`);
    await chunks.insertMany([
      { files_id: path, n: 0, data: Buffer.alloc(255 * 1024, 1) },
      { files_id: path, n: 5, data: Buffer.from('stale') },
    ]);
    expect((await importFiles(t.db, { [path]: content })).uploaded).toBe(1);
    const stored = await chunks.find({ files_id: path }).sort({ n: 1 }).toArray();
    expect(stored.map((c) => c.n)).toEqual([0, 1]);
    expect((await download(t.db, path)).equals(content)).toBe(true);
    expect(await t.db.collection<{ _id: string }>(`${MEDIA_BUCKET}.uploads`).countDocuments({ _id: path })).toBe(0);
  });

  it('refuses a binary whose staged bytes changed after extraction: in the plan, and again at upload (no files document)', async () => {
    const path = 'data-retention/changed.bin';
    const original = randomBytes(300 * 1024);
    const altered = Buffer.from(original);
    altered[123_456] = (altered[123_456]! + 1) & 0xff; // same size, one byte different
    const x = await extractedDir({ [path]: original });
    try {
      await writeFile(join(x.dir, ...path.split('/')), altered);
      await expect(planImport(x.dir, x.entries, log)).rejects.toMatchObject({ code: 'STAGING_FILE_CHANGED', details: { path } });

      await writeFile(join(x.dir, ...path.split('/')), original);
      const plan = await planImport(x.dir, x.entries, log);
      expect(plan.binaries[0]?.sha256).toBe(sha256(original));
      await writeFile(join(x.dir, ...path.split('/')), altered); // between the plan and the upload
      await expect(applyImport(t.db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, opts)).rejects.toMatchObject({ code: 'STAGING_FILE_CHANGED' });
      expect(await t.db.collection(`${MEDIA_BUCKET}.files`).countDocuments({ _id: path as never })).toBe(0);
    } finally {
      await x.remove();
    }
  });

  it('leaves no upload marker behind after a completed upload', async () => {
    const path = 'data-retention/marker.bin';
    expect((await importFiles(t.db, { [path]: randomBytes(1000) })).uploaded).toBe(1);
    expect(await t.db.collection(`${MEDIA_BUCKET}.uploads`).countDocuments()).toBe(0);
  });
});
