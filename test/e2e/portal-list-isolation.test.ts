import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page, Request, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_COLLECTIONS } from '../../proxy/portal/queries/types.js';
import { launchBrowser, newAuditorContext, signIn } from '../helpers/browser.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { AUDITOR, createUsers, portalApp } from '../helpers/portal-app.js';
import { importSimulatorDay } from '../helpers/portal-data.js';

const PORTAL_DIR = fileURLToPath(new URL('../../portal-ui/dist', import.meta.url));

interface RowLike { getAttribute(name: string): string | null; querySelector(sel: string): { getAttribute(name: string): string | null } | null; readonly textContent: string | null }

/**
 * Issue 12 item 6: every list shows only its own rows, whatever responses are still in flight. A slow staff search
 * (its response held back in the browser) must not land in the Voicemail table opened meanwhile.
 */
describe('lists in Chromium keep to their own rows', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let firstName: string;

  beforeAll(async () => {
    t = await testDatabase('e2e_list_isolation');
    await importSimulatorDay(t.db, { records: 400 });
    app = await portalApp(t.name, { portalDir: PORTAL_DIR });
    await createUsers(t.db);
    const staff = await t.db.collection<{ displayName: string }>(RECORD_COLLECTIONS.staff).findOne({});
    firstName = staff?.displayName.split(' ')[0] ?? '';
    expect(firstName).not.toBe('');
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    page = await (await newAuditorContext(browser, base)).newPage();
    await page.goto('/');
    await page.waitForURL(/\/login/);
    await signIn(page, AUDITOR);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await t?.drop();
  });

  const nav = (label: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true });

  async function rowsOf(): Promise<{ href: string; marked: boolean; text: string }[]> {
    return page.locator('table.data tbody tr').evaluateAll((trs: RowLike[]) => trs.map((tr) => ({
      href: tr.querySelector('a.row-link')?.getAttribute('href') ?? '',
      marked: tr.querySelector('mark') !== null,
      text: tr.textContent ?? '',
    })));
  }

  it('a staff search still in flight when Voicemail opens never shows up in the voicemail table', async () => {
    await nav('Staff').click();
    await page.locator('[data-list][data-ready="true"]').waitFor();
    // Hold the search's answer back until Voicemail is on screen.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let sent: () => void = () => undefined;
    const searchSent = new Promise<void>((resolve) => (sent = resolve));
    const isSearch = (url: URL): boolean => url.pathname === '/api/v1/staff' && url.searchParams.has('q');
    await page.route(isSearch, async (route: Route) => {
      sent();
      await held;
      await route.continue().catch(() => undefined);
    });
    // The held search's answer has reached the page (or failed): only then are the rows below final.
    const searchRequest = (r: Request): boolean => isSearch(new URL(r.url()));
    const delivered = Promise.race([
      page.waitForEvent('requestfinished', { predicate: searchRequest, timeout: 60_000 }),
      page.waitForEvent('requestfailed', { predicate: searchRequest, timeout: 60_000 }),
    ]);
    delivered.catch(() => undefined); // awaited below; a timeout there fails the test
    await page.getByRole('searchbox').fill(firstName);
    await page.getByRole('searchbox').press('Enter');
    await page.waitForURL(/\/staff\?.*q=/);
    // The search itself is on its way (the URL changes before the list asks): only what comes after it counts.
    await Promise.race([searchSent, page.waitForTimeout(30_000).then(() => { throw new Error('the staff search was never sent'); })]);
    const requested: string[] = [];
    page.on('request', (r) => { if (r.url().includes('/api/v1/')) requested.push(new URL(r.url()).pathname + new URL(r.url()).search); });
    await nav('Voicemail').click();
    await page.waitForURL(/\/voicemails$/);
    await page.locator('[data-list][data-ready="true"]').waitFor();
    // Leaving Staff asks nothing more of the staff list (it used to reload it, unfiltered, under the voicemail URL).
    expect(requested.filter((u) => !u.startsWith('/api/v1/voicemails'))).toEqual([]);
    release();
    await delivered;
    await page.waitForTimeout(500);
    expect(requested.filter((u) => !u.startsWith('/api/v1/voicemails'))).toEqual([]);
    const rows = await rowsOf();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => !r.href.startsWith('/voicemails/')), JSON.stringify(rows.slice(0, 3))).toEqual([]);
    expect(rows.some((r) => r.marked)).toBe(false);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Voicemail');

    // Back on Staff, the search shows its own matches only.
    await page.goBack();
    await page.waitForURL(/\/staff\?.*q=/);
    await page.locator('[data-list][data-ready="true"]').waitFor();
    const staffRows = await rowsOf();
    expect(staffRows.length).toBeGreaterThan(0);
    expect(staffRows.every((r) => r.href.startsWith('/staff/') && r.text.toLowerCase().includes(firstName.toLowerCase()))).toBe(true);
  });

  it('switching lists quickly many times ends on the last one with only its rows', async () => {
    for (const label of ['Call History', 'Files', 'Staff', 'Text Messages', 'Voicemail', 'External Contacts', 'Call Recordings']) await nav(label).click();
    await page.waitForURL(/\/recordings$/);
    await page.locator('[data-list][data-ready="true"]').waitFor();
    await page.waitForTimeout(800);
    const rows = await rowsOf();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => !r.href.startsWith('/recordings/'))).toEqual([]);
  });
});
