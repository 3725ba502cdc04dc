import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireArchiveName } from '../../../proxy/archive/archive-name.js';
import { isProxyError, type ErrorCode, type ProxyError } from '../../../proxy/errors.js';
import { applyImport, planImport, type PlanOptions } from '../../../proxy/importer/index.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID, extractedDir, manifestFor } from './extracted-dir.js';

const log = pino({ level: 'silent' });

const FILES = {
  'history/messages.json': '{"_id":1,"t":"a"}\n{"_id":2,"t":"b"}\n',
  'data-retention/x.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
};

async function planError(files: Record<string, string | Buffer>): Promise<ProxyError> {
  const x = await extractedDir(files);
  try {
    await planImport(x.dir, x.entries, log);
  } catch (err) {
    if (isProxyError(err)) return err;
    throw err;
  } finally {
    await x.remove();
  }
  throw new Error('expected a ProxyError');
}

describe('manifest.json', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('manifest');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('a matching manifest is accepted, returned in the plan and not stored', async () => {
    const x = await extractedDir({ ...FILES, 'manifest.json': manifestFor(FILES, { 'history/messages.json': 2 }, JOB_ID) });
    try {
      const plan = await planImport(x.dir, x.entries, log);
      expect(plan.manifest?.jobId).toBe(JOB_ID);
      expect(plan.binaries.map((b) => b.path)).toEqual(['data-retention/x.png']);
      const result = await applyImport(t.db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log });
      expect(result.records).toBe(2);
      expect(await t.db.listCollections({ name: 'manifest' }).toArray()).toHaveLength(0);
    } finally {
      await x.remove();
    }
  });

  it('MANIFEST_MISMATCH for a wrong record count, a wrong sha256, a missing and an unlisted file', async () => {
    const wrongCount = await planError({ ...FILES, 'manifest.json': manifestFor(FILES, { 'history/messages.json': 3 }, JOB_ID) });
    expect(wrongCount.code).toBe('MANIFEST_MISMATCH');
    expect(wrongCount.details).toMatchObject({ path: 'history/messages.json' });

    const changed = { ...FILES, 'data-retention/x.png': Buffer.from('other') };
    const wrongSha = await planError({ ...changed, 'manifest.json': manifestFor(FILES, { 'history/messages.json': 2 }, JOB_ID) });
    expect(wrongSha.code).toBe('MANIFEST_MISMATCH');
    expect(wrongSha.details).toMatchObject({ path: 'data-retention/x.png' });

    const listedMore = { ...FILES, 'history/gone.json': '' };
    const missing = await planError({ ...FILES, 'manifest.json': manifestFor(listedMore, { 'history/messages.json': 2, 'history/gone.json': 0 }, JOB_ID) });
    expect(missing.code).toBe('MANIFEST_MISMATCH');
    expect(missing.details).toMatchObject({ path: 'history/gone.json' });

    const unlisted = await planError({ ...FILES, 'history/extra.json': '', 'manifest.json': manifestFor(FILES, { 'history/messages.json': 2 }, JOB_ID) });
    expect(unlisted.code).toBe('MANIFEST_MISMATCH');
    expect(unlisted.details).toMatchObject({ path: 'history/extra.json' });
  });

  it('MANIFEST_MISMATCH when the manifest belongs to another job, before any write', async () => {
    const x = await extractedDir({ ...FILES, 'manifest.json': manifestFor(FILES, { 'history/messages.json': 2 }, 'another-job') });
    try {
      const plan = await planImport(x.dir, x.entries, log);
      await expect(applyImport(t.db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log })).rejects.toMatchObject({
        code: 'MANIFEST_MISMATCH',
      });
    } finally {
      await x.remove();
    }
  });

  it('with the archive name given: MANIFEST_MISMATCH when serviceId or createdAt differ from it; MANIFEST_MISSING when required and absent', async () => {
    const name = requireArchiveName(ARCHIVE); // svc-1, JOB_ID, 2024-05-01T02:00:00Z: what manifestFor writes
    const planWith = async (files: Record<string, string | Buffer>, options: PlanOptions): Promise<ErrorCode | 'planned'> => {
      const x = await extractedDir(files);
      try {
        await planImport(x.dir, x.entries, log, options);
        return 'planned';
      } catch (err) {
        if (isProxyError(err)) return err.code;
        throw err;
      } finally {
        await x.remove();
      }
    };
    const good = JSON.parse(manifestFor(FILES, { 'history/messages.json': 2 }, JOB_ID)) as Record<string, unknown>;
    expect(await planWith({ ...FILES, 'manifest.json': JSON.stringify(good) }, { archive: name, requireManifest: true })).toBe('planned');
    expect(await planWith({ ...FILES, 'manifest.json': JSON.stringify({ ...good, serviceId: 'svc-2' }) }, { archive: name })).toBe('MANIFEST_MISMATCH');
    expect(await planWith({ ...FILES, 'manifest.json': JSON.stringify({ ...good, createdAt: '2024-05-02T02:00:00Z' }) }, { archive: name })).toBe('MANIFEST_MISMATCH');
    expect(await planWith(FILES, { archive: name, requireManifest: true })).toBe('MANIFEST_MISSING');
    expect(await planWith(FILES, { archive: name, requireManifest: false })).toBe('planned');
  });

  it('MANIFEST_INVALID for bad JSON, a wrong version, a bad sha256 and a duplicate entry', async () => {
    const valid = JSON.parse(manifestFor(FILES, { 'history/messages.json': 2 }, JOB_ID)) as { entries: unknown[] };
    const cases = [
      '{ not json',
      JSON.stringify({ ...valid, version: 2 }),
      JSON.stringify({ ...valid, entries: [{ path: 'history/messages.json', size: 1, sha256: 'xyz' }] }),
      JSON.stringify({ ...valid, entries: [...valid.entries, valid.entries[0]] }),
      JSON.stringify({ ...valid, createdAt: 'yesterday' }),
    ];
    for (const manifest of cases) {
      expect((await planError({ ...FILES, 'manifest.json': manifest })).code).toBe('MANIFEST_INVALID');
    }
  });
});
