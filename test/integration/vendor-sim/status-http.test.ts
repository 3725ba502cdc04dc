import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signReport, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../../proxy/report/signature.js';
import type { StatusReport } from '../../../proxy/vendor-sim/index.js';
import { SECRET, SERVICE, startFixture, type SimFixture } from './sim-fixture.js';

describe('vendor simulator: status reports and the Backup Log', () => {
  let f: SimFixture;
  let published: { fileName: string; bytes: number; sha256: string; fileCount: number; recordCounts: Record<string, number> };
  const seenInHook: string[] = [];
  const base = (): string => f.sim.statusUrl.replace('/retention/v1/status', '');

  beforeAll(async () => {
    f = await startFixture({
      onReport: async (r) => {
        await new Promise((res) => setTimeout(res, 20));
        seenInHook.push(r.reportId);
      },
    });
    published = await f.sim.publishDay({ date: new Date('2026-03-01T02:00:00Z'), records: 100, mediaBytes: 16 * 1024 });
  });
  afterAll(async () => { await f.stop(); });

  function report(over: Partial<StatusReport> = {}): StatusReport {
    const name = /_([0-9a-f-]{36})_/.exec(published.fileName);
    return {
      reportId: randomUUID(), serviceId: SERVICE, siteId: 'site-a', jobId: name?.[1] ?? '', fileName: published.fileName,
      status: 'downloading', bytes: published.bytes, fileCount: published.fileCount, recordCounts: published.recordCounts,
      sha256: '', at: new Date().toISOString(), ...over,
    };
  }

  async function post(body: string, opts: { secret?: string; timestamp?: number; signature?: string } = {}): Promise<{ status: number; json: unknown }> {
    const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
    const res = await fetch(f.sim.statusUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: opts.signature ?? signReport(opts.secret ?? SECRET, ts, body) },
      body,
    });
    return { status: res.status, json: await res.json() };
  }

  it('answers health', async () => {
    const res = await fetch(`${base()}/retention/v1/health`);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('accepts a validly signed report after onReport ran, and shows it in backupLog()', async () => {
    const r = report({ status: 'downloading' });
    const res = await post(JSON.stringify(r));
    expect(res.status).toBe(200);
    expect(seenInHook).toContain(r.reportId);
    expect(f.sim.backupLog().find((x) => x.fileName === published.fileName && x.siteId === 'site-a')).toMatchObject({ status: 'downloading', statusText: 'Downloading...' });
  });

  it('rejects a bad signature, a missing signature and a stale timestamp with 401 SIGNATURE_INVALID', async () => {
    const body = JSON.stringify(report());
    const before = f.sim.reports().length;
    expect(await post(body, { secret: 'wrong-secret' })).toMatchObject({ status: 401, json: { code: 'SIGNATURE_INVALID' } });
    expect(await post(body, { signature: '' })).toMatchObject({ status: 401, json: { code: 'SIGNATURE_INVALID' } });
    expect(await post(body, { timestamp: Math.floor(Date.now() / 1000) - 3600 })).toMatchObject({ status: 401, json: { code: 'SIGNATURE_INVALID' } });
    // signed over other bytes than the ones sent
    const ts = Math.floor(Date.now() / 1000);
    expect(await post(body.replace('downloading', 'downloaded'), { timestamp: ts, signature: signReport(SECRET, String(ts), body) })).toMatchObject({ status: 401 });
    expect(f.sim.reports().length).toBe(before);
  });

  it('rejects a signed body that is not a valid report with 400 VALIDATION', async () => {
    expect(await post(JSON.stringify({ ...report(), status: 'deleted' }))).toMatchObject({ status: 400, json: { code: 'VALIDATION' } });
    expect(await post(JSON.stringify({ ...report(), status: 'failed' }))).toMatchObject({ status: 400, json: { code: 'VALIDATION' } });
    expect(await post('{not json')).toMatchObject({ status: 400, json: { code: 'VALIDATION' } });
  });

  it('is idempotent by reportId: a repeat is answered 200 and counted but applied once', async () => {
    const r = report({ status: 'downloaded', sha256: published.sha256 });
    const body = JSON.stringify(r);
    expect((await post(body)).status).toBe(200);
    expect(await post(body)).toMatchObject({ status: 200, json: { duplicate: true } });
    expect(f.sim.reports().filter((x) => x.reportId === r.reportId)).toHaveLength(2);
    const row = f.sim.backupLog().find((x) => x.fileName === published.fileName && x.siteId === 'site-a');
    expect(row?.status).toBe('downloaded');
    expect(row?.history.filter((h) => h.reportId === r.reportId)).toHaveLength(1);
    // a later "downloading" does not undo "downloaded"
    expect((await post(JSON.stringify(report({ status: 'downloading' })))).status).toBe(200);
    expect(f.sim.backupLog().find((x) => x.fileName === published.fileName && x.siteId === 'site-a')?.status).toBe('downloaded');
  });

  it('records a failure with its reason for another site', async () => {
    const r = report({ siteId: 'site-b', status: 'failed', error: { code: 'DOWNLOAD_CHECKSUM_MISMATCH', message: 'sha256 differs' } });
    expect((await post(JSON.stringify(r))).status).toBe(200);
    expect(f.sim.backupLog().find((x) => x.fileName === published.fileName && x.siteId === 'site-b')).toMatchObject({
      status: 'failed', error: { code: 'DOWNLOAD_CHECKSUM_MISMATCH', message: 'sha256 differs' },
    });
  });

  it('renders the Backup Log page and its JSON', async () => {
    const res = await fetch(`${base()}/backup-log`);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain(published.fileName);
    expect(html).toContain('Data Downloaded');
    expect(html).toContain('Failed');
    expect(html).toContain('DOWNLOAD_CHECKSUM_MISMATCH');
    const json = (await (await fetch(`${base()}/api/backup-log`)).json()) as { rows: { fileName: string }[] };
    expect(json.rows.some((r) => r.fileName === published.fileName)).toBe(true);
  });
});
