import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parseArchiveName } from '../../proxy/archive/archive-name.js';
import type { CycleSummary } from '../../proxy/pipeline/sync-cycle.js';
import { runCli } from '../helpers/cli.js';
import { expectedCounts, presentCounts, recordIdsOf } from '../helpers/archive-records.js';
import { byCollection, importedCounts } from '../helpers/imported.js';
import { ARCHIVE_KEY, startSim, writeProxyConfig, type SimHandle } from '../helpers/scenario.js';

describe('retention-proxy sync --once against the vendor simulator', () => {
  let h: SimHandle;
  let client: MongoClient;
  const published: Awaited<ReturnType<SimHandle['sim']['publishDay']>>[] = [];

  beforeAll(async () => {
    h = await startSim();
    const day = 86_400_000;
    const base = Date.UTC(2026, 10, 1, 3, 0, 0);
    published.push(await h.sim.publishDay({ date: new Date(base), records: 400, mediaBytes: 256 * 1024, layout: 'lines' }));
    published.push(await h.sim.publishDay({ date: new Date(base + day), records: 400, mediaBytes: 256 * 1024, layout: 'array' }));
    client = await MongoClient.connect(inject('mongoUri'));
  });
  afterAll(async () => {
    await client?.close();
    await h?.sim.close();
  });

  it('imports every archive exactly once, reports "downloaded" after the import, and exits 0', async () => {
    const setup = await writeProxyConfig(h, { siteId: 'e2e-a', dbName: 'e2e_sync_a' });
    const res = await runCli(['sync', '--once', '--json', '--config', setup.configPath]);
    expect(res.code, res.stdout + res.stderr.slice(-3000)).toBe(0);
    const summary = JSON.parse(res.stdout) as CycleSummary;
    expect(summary.ok).toBe(true);
    expect(summary.archives.map((a) => a.state)).toEqual(['reported', 'reported']);

    const db = client.db(setup.dbName);
    for (const p of published) {
      const ids = await recordIdsOf(join(h.dir, 'outbox', p.fileName), ARCHIVE_KEY);
      expect(await presentCounts(db, ids)).toEqual(expectedCounts(ids));
      expect(expectedCounts(ids)).toEqual(byCollection(p.recordCounts));
      const reports = h.sim.reports().filter((r) => r.siteId === 'e2e-a' && r.fileName === p.fileName);
      expect([...new Set(reports.map((r) => r.status))].sort()).toEqual(['downloaded', 'downloading']);
      const row = h.sim.backupLog().find((r) => r.siteId === 'e2e-a' && r.fileName === p.fileName);
      expect(row?.statusText).toBe('Data Downloaded');
    }
    // The raw archive is deleted after "downloaded" (keepArchiveDays: 0); nothing left in staging.
    expect(await readdir(join(setup.stagingDir, 'incoming'))).toEqual([]);

    // A second run changes nothing and sends no new "downloaded".
    const before = h.sim.reports().length;
    const again = await runCli(['sync', '--once', '--json', '--config', setup.configPath]);
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    expect(h.sim.reports().length).toBe(before);
  });

  it('resumes after the connection drops mid-download and still completes', async () => {
    // 16 KiB reads: a checkpoint (every 32 KiB) is on disk well before the drop at 160 KiB.
    const setup = await writeProxyConfig(h, { siteId: 'e2e-drop', dbName: 'e2e_sync_drop', chunkSize: 16 * 1024 });
    // Throttled, so that checkpoints are durable before the drop (at full speed the drop may come before the first
    // write completes, and then starting again from 0 is the right thing to do).
    h.sim.setFaults({ dropAfterBytes: 160 * 1024, bytesPerSecond: 400 * 1024 });
    try {
      const res = await runCli(['sync', '--once', '--json', '--config', setup.configPath]);
      expect(res.code, res.stderr.slice(-3000)).toBe(0);
      const msgs = res.logs.map((l) => String(l.msg));
      expect(msgs, 'a reconnect after the drop').toContain('reconnecting to resume');
      expect(res.logs.some((l) => l.msg === 'resuming download' && Number(l.resumeFrom) > 0), 'resumed from a checkpoint > 0').toBe(true);
    } finally {
      h.sim.setFaults({ dropAfterBytes: 0, bytesPerSecond: 0 });
    }
  });

  it('refuses an archive the Archive Key does not open: failed, quarantined, nothing imported, exit 1', async () => {
    const setup = await writeProxyConfig(h, { siteId: 'e2e-key', dbName: 'e2e_sync_key', archiveKey: 'Wrong-Key-123' });
    const res = await runCli(['sync', '--once', '--json', '--config', setup.configPath]);
    expect(res.code).toBe(1);
    const summary = JSON.parse(res.stdout) as CycleSummary;
    expect(summary.archives.every((a) => a.state === 'failed' && a.error?.code === 'ARCHIVE_WRONG_KEY')).toBe(true);
    const db = client.db(setup.dbName);
    for (const p of published) {
      expect(await importedCounts(db, parseArchiveName(p.fileName)?.jobId ?? '')).toEqual({ records: {}, media: 0 });
    }
    expect((await readdir(join(setup.stagingDir, 'quarantine'))).sort()).toEqual(published.map((p) => p.fileName).sort());
    const statuses = h.sim.reports().filter((r) => r.siteId === 'e2e-key').map((r) => r.status);
    expect(statuses).not.toContain('downloaded');
    expect(statuses).toContain('failed');
  });
});
