/**
 * Media files extraction kept in memory (ExtractOptions.keepInMemory, staging.memoryBytes): no staged file, the entry
 * carries the bytes. The plan hashes them and the upload stores them exactly as it stores written files.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import type { Db } from 'mongodb';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MEDIA_BUCKET, applyImport, planImport } from '../../../proxy/importer/index.js';
import { ARCHIVE, JOB_ID, extractedDir, sha256 } from './extracted-dir.js';
import { useMonitoredClient } from '../../helpers/db.js';
import { downloadMedia as download } from '../../helpers/gridfs.js';

const log = pino({ level: 'silent' });
const opts = { wtimeoutMs: 10_000, log };
const media = (path: string): boolean => path.startsWith('data-retention/');

/** Batched small files (one chunk), one empty, and one of 256 KiB: two chunks, stored by the one-by-one upload. */
function dayFiles(prefix: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 12; i++) files[`data-retention/avatar/${prefix}-${i}.png`] = randomBytes(i === 0 ? 0 : 700 * i);
  files[`data-retention/voicemail/${prefix}-long.wav`] = randomBytes(256 * 1024);
  return files;
}

describe('media held in memory are imported as written ones are', () => {
  const { freshDb } = useMonitoredClient('mmem');

  it('stores every kept file whole with its SHA-256, batched and one by one, and reads no staged file', async () => {
    const files = dayFiles('a');
    const kept = await extractedDir(files, media);
    const written = await extractedDir(files);
    const [inMemory, onDisk] = [freshDb('kept'), freshDb('written')];
    try {
      expect(await readdir(kept.dir)).toEqual([]);
      const plan = await planImport(kept.dir, kept.entries, log);
      expect(plan.binaries.map((b) => [b.path, b.sha256])).toEqual(Object.entries(files).map(([p, c]) => [p, sha256(c)]));
      expect(await applyImport(inMemory, kept.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, opts)).toMatchObject({ files: 13, filesUploaded: 13 });
      await applyImport(onDisk, written.dir, await planImport(written.dir, written.entries, log), { jobId: JOB_ID, archive: ARCHIVE }, opts);
    } finally {
      await kept.remove();
      await written.remove();
    }
    for (const [path, content] of Object.entries(files)) {
      expect((await download(inMemory, path)).equals(content), path).toBe(true);
      const strip = (d: Record<string, unknown> | null): unknown => d && { ...d, uploadDate: undefined };
      const projection = { projection: { _id: 1, length: 1, chunkSize: 1, filename: 1, metadata: 1 } };
      expect(strip(await inMemory.collection(`${MEDIA_BUCKET}.files`).findOne({ _id: path as never }, projection)))
        .toEqual(strip(await onDisk.collection(`${MEDIA_BUCKET}.files`).findOne({ _id: path as never }, projection)));
    }
    const chunks = (db: Db): Promise<number> => db.collection(`${MEDIA_BUCKET}.chunks`).countDocuments();
    expect(await chunks(inMemory)).toBe(await chunks(onDisk));
    expect(await chunks(inMemory)).toBe(13); // 11 one-chunk files, the 256 KiB one in two, the empty one in none
  });

  it('some media kept and the rest written (past the allowance): one import stores them all', async () => {
    const files = dayFiles('m');
    const paths = Object.keys(files);
    const x = await extractedDir(files, (p) => paths.indexOf(p) % 2 === 0);
    const db = freshDb('mixed');
    try {
      expect(x.entries.filter((e) => e.data !== undefined).length).toBeGreaterThan(0);
      expect(x.entries.filter((e) => e.data === undefined).length).toBeGreaterThan(0);
      expect(await applyImport(db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive: ARCHIVE }, opts)).toMatchObject({ files: 13, filesUploaded: 13 });
    } finally {
      await x.remove();
    }
    for (const [path, content] of Object.entries(files)) expect((await download(db, path)).equals(content), path).toBe(true);
  });

  it('kept bytes that are not the ones extraction verified: STAGING_FILE_CHANGED from the plan, marked inMemory', async () => {
    const files = dayFiles('b');
    const x = await extractedDir(files, media);
    try {
      const victim = x.entries.find((e) => e.size > 0)!;
      victim.data![3] = victim.data![3]! ^ 0x01;
      await expect(planImport(x.dir, x.entries, log)).rejects.toMatchObject({ code: 'STAGING_FILE_CHANGED', details: { path: victim.path, inMemory: true } });
    } finally {
      await x.remove();
    }
  });

  it.each([
    ['a batched small file', 'data-retention/avatar/c-3.png'],
    ['the 256 KiB file uploaded on its own', 'data-retention/voicemail/c-long.wav'],
  ])('kept bytes changed after the plan (%s): STAGING_FILE_CHANGED at upload, and no files document for it', async (_label, path) => {
    const files = dayFiles('c');
    const x = await extractedDir(files, media);
    const db = freshDb(`changed-${path.length}`);
    try {
      const plan = await planImport(x.dir, x.entries, log);
      const victim = plan.binaries.find((b) => b.path === path)!;
      victim.data![5] = victim.data![5]! ^ 0x01;
      await expect(applyImport(db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, opts)).rejects.toMatchObject({ code: 'STAGING_FILE_CHANGED' });
    } finally {
      await x.remove();
    }
    expect(await db.collection(`${MEDIA_BUCKET}.files`).countDocuments({ _id: path as never })).toBe(0);
  });

  it.each([
    ['a record file', 'history/calls.json'],
    ['the manifest', 'manifest.json'],
  ])('%s with bytes in memory is refused (INTERNAL): only media files are read from memory', async (_label, path) => {
    const x = await extractedDir({ [path]: path === 'manifest.json' ? '{}' : '[]' }, () => true);
    try {
      await expect(planImport(x.dir, x.entries, log)).rejects.toMatchObject({ code: 'INTERNAL' });
    } finally {
      await x.remove();
    }
  });
});
