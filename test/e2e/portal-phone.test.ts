import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, signIn } from '../helpers/browser.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { ADMIN, createUsers, portalApp } from '../helpers/portal-app.js';
import { importSimulatorDay } from '../helpers/portal-data.js';

const PORTAL_DIR = fileURLToPath(new URL('../../portal-ui/dist', import.meta.url));
const WIDTH = 390;

/** The page's getComputedStyle (the test project has no DOM types); used inside evaluate, so each call spells it out. */
type StyleWindow = { getComputedStyle(e: unknown, p?: string): { content: string; display: string } };

/** Issue 15 items 5 and 6: the portal on a phone-width screen, and saved searches, walked as a person does. */
describe('the portal at phone width (390 px) and saved searches', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    t = await testDatabase('e2e_phone');
    await importSimulatorDay(t.db, { records: 200 });
    app = await portalApp(t.name, { portalDir: PORTAL_DIR });
    await createUsers(t.db);
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    const context = await browser.newContext({ baseURL: base, viewport: { width: WIDTH, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-GB', timezoneId: 'Europe/London' });
    page = await context.newPage();
    await page.goto('/');
    await signIn(page, ADMIN);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await t?.drop();
  });

  const menu = () => page.getByRole('button', { name: 'Menu' });
  const nav = () => page.getByRole('navigation', { name: 'Main' });
  const pageWidth = (): Promise<number> => page.evaluate<number>('document.documentElement.scrollWidth');
  async function go(label: string): Promise<void> {
    await menu().click();
    await nav().getByRole('link', { name: label, exact: true }).click();
    await expect.poll(() => nav().isVisible()).toBe(false);
  }

  it('the navigation collapses behind a Menu button that opens and closes it', async () => {
    await expect.poll(() => nav().isVisible()).toBe(false);
    expect(await menu().getAttribute('aria-expanded')).toBe('false');
    await menu().click();
    expect(await menu().getAttribute('aria-expanded')).toBe('true');
    expect(await nav().getByRole('link', { name: 'Call History', exact: true }).isVisible()).toBe(true);
    await nav().getByRole('link', { name: 'Call History', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/calls');
    expect(await menu().getAttribute('aria-expanded')).toBe('false');
  });

  it('a list shows each row as a card whose values are labelled with their column, and the page does not scroll sideways', async () => {
    await page.locator('[data-list][data-ready="true"]').waitFor();
    const firstRow = page.locator('table.data tbody tr').first();
    const started = firstRow.locator('td[data-label="Started"]');
    expect(await started.evaluate((td) => (globalThis as unknown as StyleWindow).getComputedStyle(td, '::before').content)).toBe('"Started"');
    expect(await started.evaluate((td) => (globalThis as unknown as StyleWindow).getComputedStyle(td).display)).toBe('grid');
    const box = await firstRow.boundingBox();
    expect(box?.width ?? 0).toBeLessThanOrEqual(WIDTH);
    expect(await pageWidth()).toBeLessThanOrEqual(WIDTH);
  });

  it('a record detail page and Sync status fit the screen', async () => {
    await page.locator('table.data tbody tr a.row-link').first().click();
    await page.waitForURL(/\/calls\/.+/);
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await pageWidth()).toBeLessThanOrEqual(WIDTH);
    await go('Sync status');
    await page.getByRole('heading', { name: 'Sync status', level: 1 }).waitFor();
    expect(await pageWidth()).toBeLessThanOrEqual(WIDTH);
  });

  it('saves the current filters of a list under a name and reopens them from Saved searches', async () => {
    await go('Text Messages');
    await page.locator('[data-list][data-ready="true"]').waitFor();
    await page.getByRole('searchbox').fill('the');
    await page.getByRole('searchbox').press('Enter');
    await page.waitForURL(/\/messages\?.*q=the/);
    await page.getByRole('button', { name: 'Save search' }).click();
    await page.getByLabel('Search name').fill('Messages with "the"');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as' }).waitFor();

    await go('Call History');
    await go('Saved searches');
    await page.getByRole('heading', { name: 'Saved searches', level: 1 }).waitFor();
    expect(await pageWidth()).toBeLessThanOrEqual(WIDTH);
    await page.getByRole('link', { name: 'Messages with "the"' }).first().click();
    await page.waitForURL((url) => url.pathname === '/messages' && url.searchParams.get('q') === 'the');
    await page.locator('[data-list][data-ready="true"]').waitFor();
    expect(await page.getByRole('searchbox').inputValue()).toBe('the');
  });
});
