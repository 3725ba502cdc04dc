import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { GridFSBucket } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipExportStream, type ZipPart } from '../../../proxy/portal/export/zip-export.js';
import { MediaService } from '../../../proxy/portal/media.js';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { holdExportParts } from '../../../proxy/retention/hold-export.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

const run = promisify(execFile);
interface Doc { _id: string; [k: string]: unknown }

async function manifestOf(zip: Buffer): Promise<{ names: string[]; manifest: { entries: { path: string; omitted?: string; sha256?: string }[] } }> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-ret-zip-'));
  try {
    await writeFile(join(dir, 'x.zip'), zip);
    await run('unzip', ['-t', '-qq', join(dir, 'x.zip')]);
    const { stdout } = await run('unzip', ['-Z1', join(dir, 'x.zip')]);
    await run('unzip', ['-qq', join(dir, 'x.zip'), 'manifest.json', '-d', join(dir, 'out')]);
    return { names: stdout.split('\n').filter(Boolean), manifest: JSON.parse(await readFile(join(dir, 'out', 'manifest.json'), 'utf8')) as never };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('retention: exports keep working when referenced media is archived or destroyed', () => {
  let t: TestDatabase;
  const log = { error: (): void => undefined };
  beforeAll(async () => {
    t = await testDatabase('ret_zip_media');
    const bucket = new GridFSBucket(t.db, { bucketName: 'media' });
    for (const p of ['data-retention/call-recording/a.wav', 'data-retention/call-recording/b.wav']) {
      await new Promise<void>((res, rej) => bucket.openUploadStreamWithId(p as never, p, { metadata: { sha256: 'x' } }).on('finish', () => res()).on('error', rej).end(Buffer.from(`bytes of ${p}`)));
    }
    await t.db.collection('media.files').updateOne({ _id: 'data-retention/call-recording/b.wav' as never }, { $set: { 'metadata.archived': { runId: 'r', policyId: 'p', at: new Date() } } });
    await t.db.collection<Doc>(RECORD_COLLECTIONS.files).insertMany([
      { _id: 'a', fileId: 'a', category: 'call-recording', roomId: 'r1', uploadedAt: new Date(), storagePath: 'data-retention/call-recording/a.wav' },
      { _id: 'b', fileId: 'b', category: 'call-recording', roomId: 'r1', uploadedAt: new Date(), storagePath: 'data-retention/call-recording/b.wav' },
      { _id: 'c', fileId: 'c', category: 'call-recording', roomId: 'r1', uploadedAt: new Date(), storagePath: 'data-retention/call-recording/c.wav' },
      { _id: 'evil', fileId: '../../etc/x', category: '../..', roomId: 'r1', uploadedAt: new Date(), storagePath: 'data-retention/call-recording/a.wav' },
    ]);
  });
  afterAll(async () => {
    await t.drop();
  });

  it('an enquiry-style ZIP with an archived and a destroyed recording is complete and names them omitted in the manifest', async () => {
    const parts: ZipPart[] = [{ path: 'enquiry.json', json: { id: 'e1' } }, ...['a', 'b', 'c'].map((id) => ({ path: `media/${id}.wav`, media: { fileId: id } }))];
    const zip = await buffer(zipExportStream(parts, new MediaService(t.db), log));
    const { names, manifest } = await manifestOf(zip);
    expect(names).toEqual(['enquiry.json', 'media/a.wav', 'manifest.json']);
    expect(manifest.entries.find((e) => e.path === 'media/b.wav')).toEqual({ path: 'media/b.wav', omitted: 'archived' });
    expect(manifest.entries.find((e) => e.path === 'media/c.wav')).toEqual({ path: 'media/c.wav', omitted: 'destroyed' });
  });

  it('the hold export includes archived binaries and makes vendor fields safe entry names', async () => {
    const hold = { _id: 'h1', name: 'Matter', reason: 'x', scope: { rooms: ['r1'] }, createdAt: new Date(), createdBy: 'admin' };
    const zip = await buffer(zipExportStream(holdExportParts(t.db, hold), new MediaService(t.db), log));
    const { names } = await manifestOf(zip);
    expect(names).toContain('media/call-recording/b');
    // No entry has a '.' or '..' component; the vendor's '../..' category and '../../etc/x' id stay one component each.
    expect(names.filter((n) => n.split('/').some((c) => c === '..' || c === '.' || c === ''))).toEqual([]);
    expect(names).toContain('media/__../__.._etc_x');
  });
});
