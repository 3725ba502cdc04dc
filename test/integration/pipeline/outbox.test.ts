import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatArchiveName } from '../../../proxy/archive/archive-name.js';
import type { PipelineContext } from '../../../proxy/pipeline/context.js';
import { runSyncCycle } from '../../../proxy/pipeline/sync-cycle.js';
import { publishDayArchive } from '../../../proxy/vendor-sim/generate/publish-archive.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { startReportReceiver, type ReportReceiver } from '../../helpers/report-receiver.js';
import { startSshd, type SshdHandle } from '../../helpers/sshd.js';
import { KEY, SECRET, pipelineContext } from './pipeline-context.js';

describe('status reports go through the outbox', () => {
  let sshd: SshdHandle;
  let tdb: TestDatabase;
  let receiver: ReportReceiver;
  let ctx: PipelineContext;
  let fileName: string;

  beforeAll(async () => {
    sshd = await startSshd();
    tdb = await testDatabase('outbox');
    receiver = await startReportReceiver(SECRET);
    ctx = await pipelineContext(sshd, tdb, receiver.url);
    const createdAt = new Date(Date.UTC(2026, 5, 1, 3));
    const jobId = randomUUID();
    const p = await publishDayArchive({ dataDir: sshd.root, archiveKey: KEY, encryption: 'zipcrypto', serviceId: 'svc9', jobId, createdAt, seed: 'outbox', records: 100, mediaBytes: 16 * 1024 });
    await p.completed;
    fileName = formatArchiveName('svc9', jobId, createdAt);
  });
  afterAll(async () => {
    await receiver?.close();
    await tdb?.drop();
    await sshd?.stop();
  });

  it('keeps the job "imported" while the vendor is down, then reports in order once it is back', async () => {
    receiver.failNext = 1_000;
    const first = await runSyncCycle(ctx, { loggedIgnored: new Set() });
    expect(first.ok).toBe(false);
    expect((await ctx.jobs.get(fileName))?.state).toBe('imported');
    expect(await ctx.outbox.depth()).toBe(2);
    expect(receiver.reports).toEqual([]);

    receiver.failNext = 0;
    await new Promise((r) => setTimeout(r, 1100)); // past the (test-sized) backoff
    const second = await runSyncCycle(ctx, { loggedIgnored: new Set() });
    expect(second.ok).toBe(true);
    expect((await ctx.jobs.get(fileName))?.state).toBe('reported');
    expect(receiver.reports.map((r) => r.status)).toEqual(['downloading', 'downloaded']);
    const downloaded = receiver.reports[1];
    expect(downloaded?.reportId).toBe(`it-site:${fileName}:downloaded`);
    expect(Object.values(downloaded?.recordCounts ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('finishes a job whose "downloaded" was delivered but not recorded as reported (crash between the writes)', async () => {
    await ctx.jobs.col.updateOne({ _id: fileName }, { $set: { state: 'imported' } });
    const res = await runSyncCycle(ctx, { loggedIgnored: new Set() });
    expect(res.ok).toBe(true);
    expect((await ctx.jobs.get(fileName))?.state).toBe('reported');
    expect(receiver.reports.length).toBe(2);
  });

  it('reports each of two archives that share one jobId (reports are keyed by archive)', async () => {
    const jobId = randomUUID();
    const names: string[] = [];
    for (const day of [2, 3]) {
      const createdAt = new Date(Date.UTC(2026, 5, day, 3));
      const p = await publishDayArchive({ dataDir: sshd.root, archiveKey: KEY, encryption: 'zipcrypto', serviceId: 'svc9', jobId, createdAt, seed: 'outbox', records: 60, mediaBytes: 4096 });
      await p.completed;
      names.push(p.fileName);
    }
    const res = await runSyncCycle(ctx, { loggedIgnored: new Set() });
    expect(res.ok).toBe(true);
    for (const name of names) {
      expect((await ctx.jobs.get(name))?.state).toBe('reported');
      expect(receiver.reports.filter((r) => r.fileName === name).map((r) => [r.status, r.reportId])).toEqual([
        ['downloading', `it-site:${name}:downloading`],
        ['downloaded', `it-site:${name}:downloaded`],
      ]);
    }
  });
});
