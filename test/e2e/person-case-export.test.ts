import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTAL_COLLECTIONS } from '../../proxy/portal/collections.js';
import { launchBrowser, localInputValue, newAuditorContext, signIn } from '../helpers/browser.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { seedPerson, type PersonFixture } from '../helpers/person-data.js';
import { AUDITOR, createUsers, portalApp } from '../helpers/portal-app.js';
import { unzipAll } from '../helpers/unzip.js';

const PORTAL_DIR = fileURLToPath(new URL('../../portal-ui/dist', import.meta.url));
const ZONE = 'Asia/Hong_Kong';
interface ElementLike { getAttribute(name: string): string | null }
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Issue 15: an auditor's one walk: a contact's timeline for a date range, then its case export, checked file by file. */
describe('person page and case export in Chromium', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let f: PersonFixture;

  beforeAll(async () => {
    t = await testDatabase('e2e_person');
    f = await seedPerson(t.db);
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

  it('shows the enquiries, calls and voicemail of a date range on the contact page, and exports exactly those records and files', async () => {
    await page.goto(`/contacts/${f.contactId}`);
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await page.getByLabel('Timeline from').fill(localInputValue(f.from, ZONE));
    await page.getByLabel('Timeline to').fill(localInputValue(f.to, ZONE));
    await expect.poll(() => new URL(page.url()).searchParams.get('from')).toBe(f.from.toISOString());

    const rows = page.getByRole('region', { name: 'Timeline' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(f.expected.length);
    const types = await rows.evaluateAll((trs: ElementLike[]) => trs.map((tr) => tr.getAttribute('data-type')));
    expect(types).toEqual(f.expected.map(([type]) => type));
    for (const label of ['Enquiry', 'Call', 'Voicemail', 'Call recording', 'Message']) await expect.poll(() => page.getByText(label, { exact: true }).count()).toBeGreaterThan(0);
    const voicemail = f.expected.find(([type]) => type === 'voicemail')?.[1] ?? '';
    expect(await page.locator(`a[href="/voicemails/${voicemail}"]`).count()).toBeGreaterThan(0);

    await page.getByRole('button', { name: 'Prepare case export' }).click();
    const link = page.getByRole('link', { name: 'Download case export (ZIP)' });
    await link.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const zip = await readFile(await download.path());
    const files = await unzipAll(zip);

    const manifest = JSON.parse((files.get('manifest.json') as Buffer).toString('utf8')) as { entries: { path: string; sha256: string }[] };
    for (const e of manifest.entries) expect(e.sha256, e.path).toBe(sha256(files.get(e.path) as Buffer));
    const records: [string, string][] = [];
    for (const [path, body] of files) if (path.startsWith('records/')) for (const e of JSON.parse(body.toString('utf8')) as { type: string; link: { id: string } }[]) records.push([e.type, e.link.id]);
    expect(records.sort()).toEqual([...f.expected].sort());
    const media = [...files.keys()].filter((p) => p.startsWith('media/'));
    expect(media.map((p) => p.slice(6, 42)).sort()).toEqual([...f.media.keys()].sort());

    // the page shows the ZIP's sha256 once recorded, and the audit log holds the same value
    const hash = sha256(zip);
    await page.getByText('SHA-256 of the ZIP').waitFor();
    expect(await page.locator('.case-export code').textContent()).toBe(hash);
    const done = await t.db.collection(PORTAL_COLLECTIONS.audit).findOne({ action: 'export', 'details.phase': 'done', 'details.sha256': hash });
    expect(done?.user).toBe(AUDITOR.username);
  });
});
