/**
 * The vendor's Backup Log after "Data Downloaded" (issue 11, item 13; the Data Retention guide): with Auto-Delete on,
 * once every configured backup site has reported Data Downloaded, "Deleting data..." then "Retained data deleted" and
 * the archive leaves the SFTP server, or "Failed to delete data" with "Try again"; with Auto-Delete off, "Delete from
 * CINNOX" does the same.
 */
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signReport, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../../proxy/report/signature.js';
import type { PublishDayResult, StatusReport } from '../../../proxy/vendor-sim/index.js';
import { SECRET, SERVICE, startFixture, type SimFixture } from './sim-fixture.js';

describe('vendor simulator: deleting retained data', () => {
  let f: SimFixture;
  let day = 0;
  const base = (): string => f.sim.statusUrl.replace('/retention/v1/status', '');

  beforeAll(async () => {
    f = await startFixture({ autoDelete: true, backupSites: ['site-a', 'site-b'] });
  });
  afterAll(async () => {
    await f.stop();
  });

  const publish = (): Promise<PublishDayResult> => f.sim.publishDay({ date: new Date(Date.UTC(2026, 2, ++day, 2)), records: 50, mediaBytes: 8 * 1024 });

  async function downloaded(p: PublishDayResult, siteId: string): Promise<void> {
    const report: StatusReport = {
      reportId: randomUUID(), serviceId: SERVICE, siteId, jobId: /_([0-9a-f-]{36})_/.exec(p.fileName)?.[1] ?? '', fileName: p.fileName,
      status: 'downloaded', bytes: p.bytes, fileCount: p.fileCount, recordCounts: p.recordCounts, sha256: p.sha256, at: new Date().toISOString(),
    };
    const body = JSON.stringify(report);
    const ts = String(Math.floor(Date.now() / 1000));
    const res = await fetch(f.sim.statusUrl, {
      method: 'POST', headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: signReport(SECRET, ts, body) }, body,
    });
    expect(res.status).toBe(200);
  }

  const rowsOf = (p: PublishDayResult): { siteId: string | null; status: string; statusText: string; history: readonly { status: string }[] }[] =>
    f.sim.backupLog().filter((r) => r.fileName === p.fileName);
  const onServer = async (p: PublishDayResult): Promise<string[]> => (await readdir(f.dataDir)).filter((n) => n.startsWith(p.fileName));
  const page = async (): Promise<string> => (await fetch(`${base()}/backup-log`)).text();

  it('Auto-Delete waits for every configured site, then deletes: the archive and its .sha256 leave the SFTP server', async () => {
    const p = await publish();
    await downloaded(p, 'site-a');
    await f.sim.settled();
    expect(rowsOf(p).map((r) => r.statusText)).toEqual(['Data Downloaded']); // site-b has not reported yet
    expect(await onServer(p)).toEqual([p.fileName, `${p.fileName}.sha256`]);

    await downloaded(p, 'site-b');
    expect(rowsOf(p).every((r) => r.statusText === 'Deleting data...')).toBe(true);
    await f.sim.settled();
    const rows = rowsOf(p);
    expect(rows.map((r) => [r.siteId, r.statusText])).toEqual([['site-a', 'Retained data deleted'], ['site-b', 'Retained data deleted']]);
    expect(rows[0]?.history.map((h) => h.status).slice(-3)).toEqual(['downloaded', 'deleting', 'deleted']);
    expect(await onServer(p)).toEqual([]);
    expect(await page()).toContain('Retained data deleted');
  });

  it('a failed deletion shows "Failed to delete data" with "Try again", keeps the archive, and Try again deletes it', async () => {
    const p = await publish();
    f.sim.setFaults({ failDelete: true });
    await downloaded(p, 'site-a');
    await downloaded(p, 'site-b');
    await f.sim.settled();
    expect(rowsOf(p).map((r) => r.statusText)).toEqual(['Failed to delete data', 'Failed to delete data']);
    expect(await onServer(p)).toHaveLength(2);
    expect(await page()).toMatch(/<button type="submit">Try again<\/button>/);

    f.sim.setFaults({ failDelete: false });
    const res = await fetch(`${base()}/backup-log/delete`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ fileName: p.fileName }).toString(), redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(rowsOf(p).map((r) => r.statusText)).toEqual(['Retained data deleted', 'Retained data deleted']);
    expect(rowsOf(p)[0]?.history.map((h) => h.status).slice(-4)).toEqual(['deleting', 'delete-failed', 'deleting', 'deleted']);
    expect(await onServer(p)).toEqual([]);
  });

  it('Auto-Delete off: the archive stays after Data Downloaded, and "Delete from CINNOX" deletes it', async () => {
    f.sim.setAutoDelete(false);
    const p = await publish();
    await downloaded(p, 'site-a');
    await downloaded(p, 'site-b');
    await f.sim.settled();
    expect(rowsOf(p).map((r) => r.statusText)).toEqual(['Data Downloaded', 'Data Downloaded']);
    expect(await onServer(p)).toHaveLength(2);
    const html = await page();
    expect(html).toContain('Auto-Delete Retained Data: <strong>OFF</strong>');
    expect(html).toMatch(new RegExp(`value="${p.fileName}"><button type="submit">Delete from CINNOX</button>`));

    const res = await fetch(`${base()}/api/backup-log/delete`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fileName: p.fileName }) });
    expect(await res.json()).toEqual({ fileName: p.fileName, status: 'deleted' });
    expect(await onServer(p)).toEqual([]);
    const unknown = await fetch(`${base()}/api/backup-log/delete`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fileName: 'backup_x.zip' }) });
    expect(unknown.status).toBe(404);
  });
});
