import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_COLLECTIONS } from '../../proxy/portal/queries/types.js';
import { launchBrowser, newAuditorContext, signIn } from '../helpers/browser.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { AUDITOR, createUsers, portalApp } from '../helpers/portal-app.js';
import { importSimulatorDay } from '../helpers/portal-data.js';

const PORTAL_DIR = fileURLToPath(new URL('../../portal-ui/dist', import.meta.url));

interface ImageLike { readonly complete: boolean; readonly naturalWidth: number }
interface MessageDoc { enquiryId: string; text: string; attachments: { name: string; mimeType: string }[] }

/** Issue 12 item 9: an enquiry thread shows pictures as inline thumbnails and stickers as labelled chips. */
describe('enquiry thread media in Chromium', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    t = await testDatabase('e2e_thread_media');
    await importSimulatorDay(t.db, { records: 400 });
    app = await portalApp(t.name, { portalDir: PORTAL_DIR });
    await createUsers(t.db);
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

  it('a picture in the thread is an inline thumbnail served by the portal (loaded, with its name as alt text)', async () => {
    const msg = await t.db.collection<MessageDoc>(RECORD_COLLECTIONS.messages).findOne({ type: 'image', deleted: false, enquiryId: { $exists: true }, 'attachments.mimeType': 'image/png' });
    if (!msg) throw new Error('the simulator day has no picture in an enquiry');
    const name = msg.attachments[0]?.name ?? '';
    await page.goto(`/enquiries/${msg.enquiryId}`);
    const img = page.getByRole('img', { name, exact: true });
    await img.waitFor();
    await expect.poll(() => img.evaluate((i: ImageLike) => i.complete && i.naturalWidth > 0)).toBe(true);
  });

  it('a sticker is a labelled chip, not raw sticker:<name> text', async () => {
    const msg = await t.db.collection<MessageDoc>(RECORD_COLLECTIONS.messages).findOne({ type: 'sticker', deleted: false, enquiryId: { $exists: true } });
    if (!msg) throw new Error('the simulator day has no sticker in an enquiry');
    const sticker = msg.text.replace(/^sticker:/, '');
    await page.goto(`/enquiries/${msg.enquiryId}`);
    await page.getByRole('img', { name: `Sticker: ${sticker}` }).first().waitFor();
    expect(await page.getByTestId('thread').textContent()).not.toContain('sticker:');
  });
});
