import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressDocs } from '../../../proxy/db/job-progress.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

describe('stored progress snapshots', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('job_progress');
  });
  afterAll(async () => {
    await t.drop();
  });

  it("a later stage's snapshot drops the counters of an earlier stage that it does not carry", async () => {
    const docs = new ProgressDocs(t.db);
    const at = new Date('2026-01-01T00:00:00Z');
    await docs.saveProgress('a.zip', 'downloading', { stage: 'download', startedAt: at, at, node: 'n1', bytes: { done: 5, total: 10 }, baseBytes: 2 });
    await docs.saveProgress('a.zip', 'importing', { stage: 'import', startedAt: at, at, node: 'n1', entries: { done: 1, total: 3 }, records: { done: 10, total: 30 } });
    const stored = (await docs.of(['a.zip'], 5000)).get('a.zip');
    expect(stored).toMatchObject({ state: 'importing', stage: 'import', entries: { done: 1, total: 3 }, records: { done: 10, total: 30 } });
    expect(stored).not.toHaveProperty('bytes');
    expect(stored).not.toHaveProperty('baseBytes');
    expect(stored).not.toHaveProperty('files');
  });
});
