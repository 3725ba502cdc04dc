import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newAuditorContext, signIn } from '../helpers/browser.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { BEACON, importHostileFiles, type HostileSet } from '../helpers/hostile-media.js';
import { AUDITOR, createUsers, portalApp } from '../helpers/portal-app.js';

const PORTAL_DIR = fileURLToPath(new URL('../../portal-ui/dist', import.meta.url));

/**
 * Issue 12 item 1 in a real browser: a contact's HTML and SVG uploads, delivered in an archive, opened by a signed-in
 * auditor straight from the portal's origin, run no script (the script would read the CSRF token from /auth/me and
 * call home). The built Vue app still works under its CSP.
 */
describe('hostile media in Chromium', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let files: HostileSet;
  const beacons: string[] = [];
  const cspViolations: string[] = [];

  beforeAll(async () => {
    t = await testDatabase('e2e_media_xss');
    files = await importHostileFiles(t.db);
    app = await portalApp(t.name, { portalDir: PORTAL_DIR });
    await createUsers(t.db);
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    context = await newAuditorContext(browser, base);
    context.on('request', (r) => { if (r.url().includes(BEACON)) beacons.push(r.url()); });
    context.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await t?.drop();
  });

  it('signs in and shows a list under the app CSP without a single violation', async () => {
    await page.goto('/');
    await page.waitForURL(/\/login/);
    await signIn(page, AUDITOR);
    await page.goto('/files');
    await expect.poll(() => page.getByRole('cell', { name: 'invoice.html' }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(cspViolations).toEqual([]);
  });

  /** Opens a URL as a tab would; an attachment becomes a download instead of a page. */
  async function open(url: string): Promise<{ downloaded: string | undefined }> {
    const tab = await context.newPage();
    const download = tab.waitForEvent('download', { timeout: 5_000 }).then((d) => d.suggestedFilename(), () => undefined);
    await tab.goto(url).catch(() => undefined);
    const downloaded = await download;
    await tab.waitForTimeout(500);
    await tab.close();
    return { downloaded };
  }

  it('an HTML or SVG upload opened from the portal downloads as a file and runs nothing', async () => {
    for (const f of [files.html, files.svg]) {
      for (const url of [`/api/v1/media/${f.fileId}`, `/api/v1/media/${f.fileId}?download=1`]) {
        const { downloaded } = await open(url);
        expect(downloaded, url).toBe(f.name);
      }
    }
    expect(beacons).toEqual([]);
  });

  it('HTML bytes recorded as image/png are not sniffed into a page; a real PNG shows inline', async () => {
    expect((await open(`/api/v1/media/${files.fakePng.fileId}`)).downloaded).toBeUndefined();
    const tab = await context.newPage();
    const res = await tab.goto(`/api/v1/media/${files.png.fileId}`);
    expect(res?.headers()['content-type']).toBe('image/png');
    expect(await tab.evaluate('document.images.length')).toBe(1);
    await tab.close();
    expect(beacons).toEqual([]);
  });

  it('a non-Latin-1 name downloads under its own name', async () => {
    expect((await open(`/api/v1/media/${files.pdf.fileId}?download=1`)).downloaded).toBe('報告.pdf');
  });
});
