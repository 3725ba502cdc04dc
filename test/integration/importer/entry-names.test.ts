/**
 * Issue 11, item 6, end to end: an archive made by the real Info-ZIP `zip` from a tree with a non-ASCII file name (no
 * UTF-8 flag) is imported, and the file record's `storagePath` finds the media in GridFS.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GridFSBucket } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractArchive } from '../../../proxy/archive/extract.js';
import { MEDIA_BUCKET, applyImport, ensureImportIndexes, planImport } from '../../../proxy/importer/index.js';
import { makeTempDir } from '../../helpers/archive-tools.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID } from './extracted-dir.js';

const run = promisify(execFile);
const log = pino({ level: 'silent' });
const KEY = 'Archive-Key-123!';
const STORAGE_PATH = 'data-retention/room-file/報告 café.pdf';
const PDF = Buffer.from('%PDF-1.4 a file with a non-ASCII name\n');

describe('non-ASCII entry names from Info-ZIP zip', () => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await testDatabase('entry_names');
    work = await makeTempDir('rp-names-');
  });
  afterAll(async () => {
    await t.drop();
    await rm(work, { recursive: true, force: true });
  });

  for (const locale of ['C.UTF-8', 'C']) {
    it(`LANG=${locale}: the file record's storagePath finds the media it names`, async () => {
      const src = join(work, `src-${locale}`);
      await mkdir(join(src, 'data-retention', 'room-file'), { recursive: true });
      await mkdir(join(src, 'file-management'), { recursive: true });
      await writeFile(join(src, ...STORAGE_PATH.split('/')), PDF);
      const fileId = locale === 'C' ? '7d1c0a8e-0000-4000-8000-00000000000b' : '7d1c0a8e-0000-4000-8000-00000000000a';
      const oid = locale === 'C' ? '64a1f0c2e4b0a1b2c3d4e5f1' : '64a1f0c2e4b0a1b2c3d4e5f2';
      await writeFile(join(src, 'file-management', 'files.json'), `${JSON.stringify({ _id: { $oid: oid }, fileId, storagePath: STORAGE_PATH })}\n`);
      const zip = join(work, `names-${locale}.zip`);
      await run('zip', ['-q', '-r', '-P', KEY, zip, '.'], { cwd: src, env: { ...process.env, LANG: locale, LC_ALL: locale } });

      const dest = join(work, `out-${locale}`);
      const extracted = await extractArchive(zip, dest, {
        password: KEY, allowUnencrypted: false, limits: { maxEntries: 100, maxTotalBytes: 1 << 30, maxEntryRatio: 1000 },
      });
      const plan = await planImport(dest, extracted.entries, log);
      await ensureImportIndexes(t.db);
      await applyImport(t.db, dest, plan, { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log });

      const record = await t.db.collection<{ _id: unknown; storagePath: string }>('file-management.files').findOne({ fileId });
      expect(record?.storagePath).toBe(STORAGE_PATH);
      const media = await t.db.collection<{ _id: string; length: number }>(`${MEDIA_BUCKET}.files`).findOne({ _id: record?.storagePath ?? '' });
      expect(media?.length).toBe(PDF.length);
      const parts: Buffer[] = [];
      for await (const chunk of new GridFSBucket(t.db, { bucketName: MEDIA_BUCKET }).openDownloadStream(STORAGE_PATH as never)) parts.push(chunk as Buffer);
      expect(Buffer.concat(parts).equals(PDF)).toBe(true);
    });
  }
});
