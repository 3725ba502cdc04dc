import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore, type JobDoc } from '../../../proxy/db/jobs.js';
import { copiesDifferError } from '../../../proxy/pipeline/discover.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

/** A job stored before `copies` existed: a differing copy found at removal must still be recorded (Sync status shows it). */
describe('an archive copy that differs, on a job from before copies were kept', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('copy_differs_legacy');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('is stored with its whole copy and reported as ARCHIVE_COPIES_DIFFER', async () => {
    const jobs = new JobStore(t.db, 10_000);
    const fileName = 'backup_svc1001_5f2b8c1e-7a3d-4e6f-9b0c-1d2e3f4a5b6c_20260301020000.zip';
    const now = new Date();
    await jobs.col.insertOne({ _id: fileName, fileName, serviceId: 'svc1001', jobId: '5f2b8c1e-7a3d-4e6f-9b0c-1d2e3f4a5b6c', siteId: 's', state: 'reported', createdAt: now, updatedAt: now } as unknown as JobDoc);
    await jobs.markCopyDiffers(fileName, 'hprimary', { server: 'SHA256:x', label: '127.0.0.1:22', size: 10, mtimeMs: 1, publishedSha256: 'a'.repeat(64) });
    const job = await jobs.col.findOne({ _id: fileName });
    expect(job?.copies?.hprimary).toMatchObject({ differs: true, size: 10, label: '127.0.0.1:22' });
    expect(copiesDifferError(job!)?.code).toBe('ARCHIVE_COPIES_DIFFER');
  });
});
