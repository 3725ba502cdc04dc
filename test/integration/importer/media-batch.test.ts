import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MEDIA_BUCKET, applyImport, planImport } from '../../../proxy/importer/index.js';
import { ARCHIVE, JOB_ID, extractedDir, sha256 } from './extracted-dir.js';
import { useMonitoredClient } from '../../helpers/db.js';
import { downloadMedia as download } from '../../helpers/gridfs.js';

const log = pino({ level: 'silent' });
const opts = { wtimeoutMs: 10_000, log };

/** A day's small binaries (avatars, icons, short voicemails): one GridFS chunk each, one of them empty. */
function smallFiles(n: number, prefix: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < n; i++) files[`data-retention/avatar/${prefix}-${i}.png`] = randomBytes(i === 0 ? 0 : 100 * i);
  return files;
}

describe('small binaries are stored in batches (one write of each kind per batch, same layout and rules)', () => {
  const mc = useMonitoredClient('mbatch');
  const { commands, freshDb } = mc;

  it('stores 40 small files with one insert into each of media.uploads, media.chunks and media.files, each readable with its metadata, no marker left', async () => {
    const db = freshDb('writes');
    const files = smallFiles(40, 'a');
    const x = await extractedDir(files);
    try {
      const plan = await planImport(x.dir, x.entries, log);
      commands.length = 0;
      const result = await applyImport(db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, opts);
      expect(result).toMatchObject({ files: 40, filesUploaded: 40 });
      const inserts = (coll: string): number => commands.filter((c) => c.databaseName === db.databaseName && c.commandName === 'insert' && c.command.insert === coll).length;
      expect([inserts(`${MEDIA_BUCKET}.uploads`), inserts(`${MEDIA_BUCKET}.chunks`), inserts(`${MEDIA_BUCKET}.files`)]).toEqual([1, 1, 1]);
    } finally {
      await x.remove();
    }
    for (const [path, content] of Object.entries(files)) {
      expect((await download(db, path)).equals(content), path).toBe(true);
      const doc = await db.collection(`${MEDIA_BUCKET}.files`).findOne({ _id: path as never });
      expect(doc).toMatchObject({ length: content.length, chunkSize: 255 * 1024, filename: path, metadata: { sha256: sha256(content), size: content.length, jobId: JOB_ID, archive: ARCHIVE, contentType: 'image/png' } });
    }
    expect(await db.collection(`${MEDIA_BUCKET}.chunks`).countDocuments()).toBe(39); // the empty file has no chunk
    expect(await db.collection(`${MEDIA_BUCKET}.uploads`).countDocuments()).toBe(0);
    // Importing again writes nothing.
    const again = await extractedDir(files);
    try {
      const r = await applyImport(db, again.dir, await planImport(again.dir, again.entries, log), { jobId: JOB_ID, archive: ARCHIVE }, opts);
      expect(r).toMatchObject({ files: 40, filesUploaded: 0 });
    } finally {
      await again.remove();
    }
  });

  it('a small file with an interrupted upload among new ones: its stale chunks are cleaned up, every file stored whole', async () => {
    const db = freshDb('crash');
    const files = smallFiles(10, 'b');
    const crashed = 'data-retention/avatar/b-3.png';
    await db.collection<{ _id: string }>(`${MEDIA_BUCKET}.uploads`).insertOne({ _id: crashed });
    await db.collection(`${MEDIA_BUCKET}.chunks`).insertMany([{ files_id: crashed, n: 0, data: Buffer.from('stale') }, { files_id: crashed, n: 4, data: Buffer.from('stale') }]);
    const x = await extractedDir(files);
    try {
      const result = await applyImport(db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive: ARCHIVE }, opts);
      expect(result).toMatchObject({ files: 10, filesUploaded: 10 });
    } finally {
      await x.remove();
    }
    expect((await db.collection<{ files_id: string; n: number }>(`${MEDIA_BUCKET}.chunks`).find({ files_id: crashed }).toArray()).map((c) => c.n)).toEqual([0]);
    for (const [path, content] of Object.entries(files)) expect((await download(db, path)).equals(content), path).toBe(true);
    expect(await db.collection(`${MEDIA_BUCKET}.uploads`).countDocuments()).toBe(0);
  });

  it('a small file changed after the plan fails the batch with STAGING_FILE_CHANGED before any files document', async () => {
    const db = freshDb('changed');
    const files = smallFiles(5, 'c');
    const path = 'data-retention/avatar/c-2.png';
    const x = await extractedDir(files);
    try {
      const plan = await planImport(x.dir, x.entries, log);
      const altered = Buffer.from(files[path]!);
      altered[7] = (altered[7]! + 1) & 0xff;
      await writeFile(join(x.dir, ...path.split('/')), altered);
      await expect(applyImport(db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, opts)).rejects.toMatchObject({ code: 'STAGING_FILE_CHANGED' });
    } finally {
      await x.remove();
    }
    expect(await db.collection(`${MEDIA_BUCKET}.files`).countDocuments()).toBe(0);
  });
});
