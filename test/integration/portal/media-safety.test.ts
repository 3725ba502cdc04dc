import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { importHostileFiles, type HostileSet } from '../../helpers/hostile-media.js';
import { AUDITOR, createUsers, portalApp } from '../../helpers/portal-app.js';

/**
 * Stored XSS through media (issue 12 item 1) and Content-Disposition for any file name (item 4), over a real socket:
 * `inject` does not validate headers the way Node's HTTP server does, so it could not catch either.
 */
describe('portal media safety and security headers, over a real socket', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let base: string;
  let cookie: string;
  let files: HostileSet;

  const get = (path: string, headers: Record<string, string> = {}): Promise<Response> => fetch(`${base}${path}`, { headers: { cookie, ...headers } });

  beforeAll(async () => {
    t = await testDatabase('portal_media_safety');
    files = await importHostileFiles(t.db);
    app = await portalApp(t.name);
    await createUsers(t.db);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(AUDITOR) });
    expect(res.status).toBe(200);
    cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('sends nosniff and a strict CSP on every response: API, errors, 404s, health, the UI', async () => {
    const responses = await Promise.all([
      get('/api/v1/auth/me'),
      fetch(`${base}/api/v1/auth/me`),
      fetch(`${base}/api/v1/no-such-route`),
      fetch(`${base}/api/v1/openapi.json`),
      fetch(`${base}/readyz`),
      fetch(`${base}/healthz`),
      fetch(`${base}/`, { headers: { accept: 'text/html' } }),
      get('/api/v1/media/no-such-file'),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 200, expect.any(Number), expect.any(Number), 200, 404]);
    for (const r of responses) {
      expect(r.headers.get('x-content-type-options'), r.url).toBe('nosniff');
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp, r.url).toMatch(/object-src 'none'/);
      expect(csp, r.url).toMatch(/frame-ancestors 'none'/);
      expect(csp, r.url).toMatch(/base-uri 'none'/);
      expect(r.headers.get('x-frame-options'), r.url).toBe('DENY');
    }
    const app = responses[6]?.headers.get('content-security-policy') ?? '';
    expect(app).toMatch(/script-src 'self'(;|$)/);
    expect(app).not.toMatch(/unsafe-inline|unsafe-eval/);
  });

  it('serves HTML and SVG uploads as sandboxed attachments typed application/octet-stream, never inline', async () => {
    for (const f of [files.html, files.svg]) {
      for (const query of ['', '?download=0', '?download=1']) {
        for (const range of [undefined, 'bytes=0-', 'bytes=1-']) {
          const r = await get(`/api/v1/media/${f.fileId}${query}`, range ? { range } : {});
          const label = `${f.name}${query} ${range ?? ''}`;
          expect(r.status, label).toBe(range ? 206 : 200);
          expect(r.headers.get('content-type'), label).toBe('application/octet-stream');
          expect(r.headers.get('content-disposition'), label).toMatch(/^attachment; filename="/);
          expect(r.headers.get('x-content-type-options'), label).toBe('nosniff');
          const csp = r.headers.get('content-security-policy') ?? '';
          expect(csp, label).toMatch(/default-src 'none'/);
          expect(csp, label).toMatch(/(^|; )sandbox(;|$)/);
          await r.arrayBuffer();
        }
      }
    }
  });

  it('serves raster images, audio and video inline with their type, sandboxed; a disguised PNG stays image/png with nosniff', async () => {
    for (const f of [files.png, files.fakePng]) {
      const r = await get(`/api/v1/media/${f.fileId}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('image/png');
      expect(r.headers.get('content-disposition')).toBe('inline');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('content-security-policy')).toMatch(/sandbox/);
      expect(Buffer.from(await r.arrayBuffer()).length).toBe(f.size);
    }
  });

  it('sends a non-Latin-1 file name as an RFC 5987 filename* with an ASCII fallback (a download of 報告.pdf works)', async () => {
    for (const query of ['?download=1', '']) {
      const r = await get(`/api/v1/media/${files.pdf.fileId}${query}`);
      expect(r.status, query).toBe(200);
      expect(r.headers.get('content-disposition'), query).toBe(`attachment; filename="__.pdf"; filename*=UTF-8''${encodeURIComponent('報告.pdf')}`);
      expect(r.headers.get('content-type'), query).toBe('application/octet-stream');
      expect(Buffer.from(await r.arrayBuffer()).length, query).toBe(files.pdf.size);
    }
  });

  it('names every export attachment so that the header is valid (CSV, JSON and ZIP exports)', async () => {
    for (const path of ['/api/v1/files/export.csv', '/api/v1/files/export.json', '/api/v1/rooms/no-such-room/export.zip']) {
      const r = await get(path);
      await r.arrayBuffer();
      if (r.status === 404) continue;
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-disposition'), path).toMatch(/^attachment; filename="[\x20-\x7e]+"/);
    }
    const csv = await (await get('/api/v1/files/export.csv')).text();
    expect(csv).toContain('報告.pdf');
  });

  it('ETag and X-Content-SHA256 come from the hash computed at import, never from the vendor record; absent when not 64 hex', async () => {
    const records = t.db.collection('file-management.files');
    const gridFiles = t.db.collection<{ _id: string; metadata?: { sha256?: string } }>('media.files');
    // A vendor record whose sha256 would break the header (a quote, non-Latin-1 text).
    await records.updateOne({ fileId: files.png.fileId }, { $set: { sha256: 'ab"c 報告' } });
    const r = await get(`/api/v1/media/${files.png.fileId}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('etag')).toBe(`"${files.png.sha256}"`);
    expect(r.headers.get('x-content-sha256')).toBe(files.png.sha256);
    expect(Buffer.from(await r.arrayBuffer()).length).toBe(files.png.size);
    const cached = await get(`/api/v1/media/${files.png.fileId}`, { 'if-none-match': `"${files.png.sha256}"` });
    expect(cached.status).toBe(304);
    // A stored hash that is not 64 hex digits: no ETag, no X-Content-SHA256, the bytes still served.
    const stored = await gridFiles.findOne({ 'metadata.sha256': files.png.sha256 });
    expect(stored).not.toBeNull();
    await gridFiles.updateOne({ _id: stored!._id }, { $set: { 'metadata.sha256': 'x"\u00e9' } });
    try {
      const bad = await get(`/api/v1/media/${files.png.fileId}`);
      expect(bad.status).toBe(200);
      expect(bad.headers.get('etag')).toBeNull();
      expect(bad.headers.get('x-content-sha256')).toBeNull();
      expect(Buffer.from(await bad.arrayBuffer()).length).toBe(files.png.size);
    } finally {
      await gridFiles.updateOne({ _id: stored!._id }, { $set: { 'metadata.sha256': files.png.sha256 } });
      await records.updateOne({ fileId: files.png.fileId }, { $set: { sha256: files.png.sha256 } });
    }
  });
});
