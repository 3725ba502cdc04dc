import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient, ObjectId, type Db, type Document } from 'mongodb';
import { majority } from '../../proxy/db/write-concern.js';
import { refreshIdentity } from '../../proxy/importer/identity.js';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, localInputValue, newAuditorContext, screenshot, signIn } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { startSim, writeProxyConfig, type SimHandle } from '../helpers/scenario.js';

const ZONE = 'Asia/Hong_Kong';
const ADMIN = { username: 'admin', password: 'Admin-Pass-2026' };
const AUDITOR = { username: 'auditor1', password: 'Auditor-Pass-2026' };

/** The part of HTMLMediaElement the test uses (the test code is compiled without the DOM library). */
interface MediaLike {
  muted: boolean;
  readonly readyState: number;
  readonly duration: number;
  currentTime: number;
  readonly error: { code: number } | null;
  play(): Promise<void>;
  addEventListener(type: 'canplay' | 'seeked', listener: () => void, options: { once: boolean }): void;
}

interface ElementLike { getAttribute(name: string): string | null; readonly textContent: string | null }

interface CallDoc { callId: string; enquiryId: string; recordingFileId: string; startedAt: Date; from: { id: string; number: string }; to: { id: string } }

interface TargetCall { callId: string; number: string; startedAt: Date; enquiryId: string; recordingFileId: string }

/** The demo's promise, in a real browser: an auditor finds a call, plays it, opens its enquiry, exports, and it is all audited. */
describe('Retention Portal in Chromium', () => {
  let h: SimHandle;
  let daemon: Daemon;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let client: MongoClient;
  let db: Db;
  let target: TargetCall;
  let searchWord: string;
  let staff: { staffId: string; displayName: string };
  /** The second day's archive, whose download the simulator pauses half-way while the walk runs (Sync status progress). */
  let paused: { fileName: string; bytes: number };
  const mediaResponses: { url: string; status: number; range: string | undefined }[] = [];

  beforeAll(async () => {
    h = await startSim();
    await h.sim.publishDay({ date: new Date(Date.UTC(2026, 10, 1, 3, 0, 0)), records: 400, mediaBytes: 256 * 1024 });
    const setup = await writeProxyConfig(h, {
      siteId: 'e2e-portal', dbName: 'e2e_portal',
      extra: `portal:\n  host: 127.0.0.1\n  port: 0\n`,
    });
    const sync = await runCli(['sync', '--once', '--json', '--config', setup.configPath]);
    expect(sync.code, sync.stderr.slice(-3000)).toBe(0);

    // The first admin, as at install time.
    const pwFile = join(setup.dir, 'admin.pw');
    await writeFile(pwFile, `${ADMIN.password}\n`, { mode: 0o600 });
    const add = await runCli(['user', 'add', '--username', ADMIN.username, '--role', 'admin', '--password-file', pwFile, '--config', setup.configPath]);
    expect(add.code, add.stdout + add.stderr.slice(-3000)).toBe(0);

    client = await MongoClient.connect(inject('mongoUri'));
    db = client.db(setup.dbName);
    const call = await db.collection<CallDoc>('history.calls').findOne({ kind: 'enquiry', recordingFileId: { $exists: true } }, { sort: { startedAt: 1 } });
    if (!call) throw new Error('the simulator produced no recorded enquiry call');
    target = { callId: call.callId, number: call.from.number, startedAt: call.startedAt, enquiryId: call.enquiryId, recordingFileId: call.recordingFileId };
    const msg = await db.collection('history.messages').findOne({ type: 'text', deleted: false, text: { $regex: '[A-Za-z]{6,}' } });
    searchWord = /[A-Za-z]{6,}/.exec(String(msg?.text))?.[0] ?? '';
    expect(searchWord).not.toBe('');
    const someone = await db.collection<{ staffId: string; displayName: string }>('lc-data-server.staff').findOne({ staffId: { $in: [call.from.id, call.to.id] } });
    if (!someone) throw new Error('the call has no staff party');
    staff = { staffId: someone.staffId, displayName: someone.displayName };

    // A second archive whose download stops half-way (the source stalls, and the proxy waits for it for 10 minutes):
    // the daemon's first cycle starts it, and Sync status shows how far it is.
    paused = await h.sim.publishDay({ date: new Date(Date.UTC(2026, 10, 2, 3, 0, 0)), records: 60, mediaBytes: 128 * 1024 });
    h.sim.setFaults({ stallAfterBytes: Math.floor(paused.bytes / 2) });
    const config = (await readFile(setup.configPath, 'utf8')).replace('stallTimeoutMs: 3000', 'stallTimeoutMs: 600000');
    await writeFile(setup.configPath, config, { mode: 0o600 });

    daemon = startDaemon('proxy', setup.configPath);
    const baseUrl = await daemon.url();
    browser = await launchBrowser();
    context = await newAuditorContext(browser, baseUrl);
    page = await context.newPage();
    page.on('response', (r: Response) => {
      if (r.url().includes('/api/v1/media/')) mediaResponses.push({ url: r.url(), status: r.status(), range: r.request().headers().range });
    });
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && page) {
      await screenshot(page, 'failure');
      console.error(`failed at ${page.url()}\n${daemon.logs.slice(-30).map((l) => JSON.stringify(l)).join('\n')}`);
    }
  });

  afterAll(async () => {
    await browser?.close();
    const exit = await daemon?.kill('SIGTERM');
    await client?.close();
    await h?.sim.close();
    expect(exit?.code ?? 0, 'the daemon stops cleanly on SIGTERM').toBe(0);
  });

  async function login(user: { username: string; password: string }): Promise<void> {
    await page.goto('/');
    await page.waitForURL(/\/login/);
    await signIn(page, user);
    expect(await page.getByTestId('whoami').textContent()).toBe(user.username);
  }

  async function logout(): Promise<void> {
    await page.getByTestId('logout').click();
    await page.waitForURL(/\/login/);
  }

  /** Plays the page's player (muted: no autoplay policy applies), seeks to the middle; the bytes came as 206 ranges. */
  async function playAndSeek(fileId: string): Promise<void> {
    const played = await page.getByTestId('player').evaluate(async (a: MediaLike) => {
      a.muted = true;
      await a.play();
      await new Promise<void>((resolve) => (a.readyState >= 2 ? resolve() : a.addEventListener('canplay', () => resolve(), { once: true })));
      a.currentTime = a.duration / 2;
      await new Promise<void>((resolve) => a.addEventListener('seeked', () => resolve(), { once: true }));
      return { readyState: a.readyState, duration: a.duration, error: a.error?.code ?? null };
    });
    expect(played.error).toBeNull();
    expect(played.readyState).toBeGreaterThanOrEqual(2);
    expect(played.duration).toBeGreaterThan(0);
    expect(mediaResponses.some((r) => r.url.includes(fileId) && r.status === 206 && r.range !== undefined)).toBe(true);
  }

  /** Waits until the list shows the rows of the filters in the URL; returns how many. */
  async function listLoaded(): Promise<number> {
    await page.locator('[data-list][data-ready="true"]').waitFor();
    return page.locator('tbody tr.row').count();
  }

  it('admin signs in and creates an auditor; the auditor browses, filters, searches, plays, follows and exports; the audit log shows it', async () => {
    // --- admin: sign in, create the auditor, sign out
    await page.goto('/');
    await page.waitForURL(/\/login/);
    await screenshot(page, '00-login');
    await login(ADMIN);
    await page.getByRole('link', { name: 'Accounts' }).click();
    const form = page.getByTestId('create-user');
    await form.getByLabel('User name').fill(AUDITOR.username);
    await form.getByLabel('Password').fill(AUDITOR.password);
    await form.getByLabel('Role').selectOption('auditor');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator(`tr[data-user="${AUDITOR.username}"]`).waitFor();
    await screenshot(page, '01-accounts');
    await logout();

    // --- auditor: sign in; no administration for this role
    await login(AUDITOR);
    expect(await page.getByRole('link', { name: 'Accounts' }).count()).toBe(0);

    // every view, a screenshot each
    const views: [string, string][] = [
      ['Enquiry History', 'enquiries'], ['Room / Space Report', 'rooms'], ['Call History', 'calls'], ['Conference Calls', 'conferences'],
      ['Files', 'files'], ['Voicemail', 'voicemails'], ['Call Recordings', 'recordings'], ['Text Messages', 'messages'],
      ['Staff', 'staff'], ['External Contacts', 'contacts'],
    ];
    for (const [i, [label, path]] of views.entries()) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
      await page.waitForURL(new RegExp(`/${path}$`));
      expect(await listLoaded(), `${label} has rows`).toBeGreaterThan(0);
      await expect.poll(() => page.getByTestId('error-banner').count()).toBe(0);
      await screenshot(page, `${String(10 + i)}-${path}`);
    }

    // filter: inbound calls only; the filter is in the URL and survives a reload (shareable)
    await page.goto('/calls');
    await listLoaded();
    await page.getByLabel('Direction').selectOption('inbound');
    await page.waitForURL(/direction=inbound/);
    await listLoaded();
    await page.reload();
    expect(await listLoaded()).toBeGreaterThan(0);
    const directions = await page.locator('tbody tr.row td:nth-child(2)').allTextContents();
    expect(new Set(directions.map((d) => d.trim()))).toEqual(new Set(['inbound']));

    // filter by a staff member typed by name: the URL carries the staff id, every row involves that person
    await page.locator('#options-staff option').first().waitFor({ state: 'attached' });
    await page.getByLabel('Staff', { exact: true }).fill(staff.displayName);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(new RegExp(`staff=${staff.staffId}`));
    await listLoaded();
    for (const rowText of await page.locator('tbody tr.row').allTextContents()) expect(rowText).toContain(staff.displayName);

    // search a message: `/` focuses the search field
    await page.goto('/messages');
    await listLoaded();
    await page.keyboard.press('/');
    await expect.poll(() => page.locator(':focus').getAttribute('name')).toBe('q');
    await page.keyboard.type(searchWord);
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`q=${searchWord}`));
    expect(await listLoaded()).toBeGreaterThan(0);
    const texts = await page.locator('tbody tr.row td:nth-child(4)').allTextContents();
    for (const t of texts) expect(t.toLowerCase()).toContain(searchWord.toLowerCase());
    await screenshot(page, '20-message-search');

    // find the call by number and date (the viewer's time zone), open it with the keyboard
    await page.goto('/calls');
    await listLoaded();
    await page.getByLabel('Number', { exact: true }).fill(target.number);
    await page.getByLabel('Started from').fill(localInputValue(target.startedAt, ZONE));
    await page.getByLabel('Started to').fill(localInputValue(new Date(target.startedAt.getTime() + 60_000), ZONE));
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/number=/);
    const row = page.locator(`tbody tr.row[data-id="${target.callId}"]`);
    await row.waitFor();
    await screenshot(page, '21-call-found');
    await row.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/calls/${target.callId}$`));
    await page.getByTestId('player').waitFor();

    // play its recording: the media element loads (metadata, duration) and seeking is served by a 206 Range answer
    await playAndSeek(target.recordingFileId);
    await page.getByTestId('verify').click();
    await expect.poll(() => page.getByTestId('verify-result').textContent()).toContain('match');
    await screenshot(page, '22-call-detail');

    // the enquiry it belongs to, with its thread containing this call
    await page.getByTestId('enquiry-link').click();
    await page.waitForURL(new RegExp(`/enquiries/${target.enquiryId}$`));
    await page.getByTestId('thread').waitFor();
    await expect.poll(() => page.locator(`[data-test="thread"] li[data-kind="call"] a[href="/calls/${target.callId}"]`).count()).toBeGreaterThan(0);
    await screenshot(page, '23-enquiry-thread');

    // back to the filtered call list (the breadcrumb keeps the filters) and export it as CSV
    await page.goBack();
    await page.waitForURL(new RegExp(`/calls/${target.callId}$`));
    await page.getByRole('link', { name: '← Call History' }).click();
    await page.waitForURL(/\/calls\?.*number=/);
    await listLoaded();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    expect(lines[0]).toContain('id');
    expect(lines.slice(1).some((l) => l.includes(target.callId))).toBe(true);
    expect(lines.slice(1).every((l) => l.includes(target.number))).toBe(true);

    // a voicemail: open the first one with the keyboard and play it
    await page.goto('/voicemails');
    expect(await listLoaded()).toBeGreaterThan(0);
    const vm = page.locator('tbody tr.row').first();
    const vmId = (await vm.getAttribute('data-id')) ?? '';
    await vm.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/voicemails/${vmId}$`));
    await page.getByTestId('player').waitFor();
    await playAndSeek(vmId);
    await screenshot(page, '24-voicemail');

    // an image file: the preview loads
    await page.goto('/files?category=room-file&q=image');
    expect(await listLoaded()).toBeGreaterThan(0);
    await page.locator('tbody tr.row').first().click();
    await page.getByTestId('image-preview').waitFor();
    await expect.poll(() => page.getByTestId('image-preview').evaluate((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth > 0)).toBe(true);
    await screenshot(page, '25-file-image');

    // a conference and a room: participants and counts
    for (const [path, name] of [['conferences', '26-conference'], ['rooms', '27-room']] as const) {
      await page.goto(`/${path}`);
      expect(await listLoaded()).toBeGreaterThan(0);
      await page.locator('tbody tr.row').first().click();
      await page.waitForURL(new RegExp(`/${path}/[^/]+$`));
      await page.getByTestId('detail-title').waitFor();
      await page.locator('.provenance').waitFor();
      await screenshot(page, name);
    }

    await logout();

    // --- admin: the audit log shows each step of the auditor
    await login(ADMIN);
    await page.getByRole('link', { name: 'Sync status' }).click();
    await page.getByTestId('sync-jobs').locator('tbody tr').first().waitFor();
    await expect.poll(() => page.getByTestId('sync-jobs').textContent()).toContain('Data Downloaded');
    // Issue 12 item 8: the paused download's percent, refreshed by the page itself, and the 30-day chart.
    const bar = page.getByRole('progressbar', { name: `Downloading ${paused.fileName}` });
    await expect.poll(() => bar.getAttribute('value'), { timeout: 30_000 }).toMatch(/^[1-9]\d?$/);
    const pausedRow = page.getByRole('row').filter({ hasText: paused.fileName });
    expect(await pausedRow.textContent()).toMatch(new RegExp(`Downloading\\s*${await bar.getAttribute('value') ?? ''}%`));
    await page.getByRole('heading', { name: 'Last 30 days' }).waitFor();
    for (const measure of ['Archives', 'Records', 'Bytes', 'Duration']) {
      await expect.poll(() => page.getByRole('img', { name: new RegExp(`^${measure} per day, `) }).count()).toBe(1);
    }
    expect(await page.getByRole('img', { name: /^Archives per day, / }).getAttribute('aria-label')).toMatch(/: 1 archive in total/);
    const today = new Date().toISOString().slice(0, 10);
    const perDay = page.getByRole('table', { name: /Per day \(UTC\)/ });
    expect(await perDay.getByRole('row', { name: new RegExp(`^${today}`) }).getByRole('cell').first().textContent()).toBe('1');
    await screenshot(page, '30-sync-status');
    // It refreshes by itself (the next poll comes without a click), and stops once the page is left.
    await page.waitForResponse((r) => r.url().includes('/api/v1/sync/jobs'), { timeout: 10_000 });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByTestId('audit').locator('tbody tr').first().waitFor();
    const syncRequests: string[] = [];
    page.on('request', (r) => { if (r.url().includes('/api/v1/sync/')) syncRequests.push(r.url()); });
    await page.getByLabel('User', { exact: true }).fill(AUDITOR.username);
    await page.getByLabel('User', { exact: true }).press('Enter');
    await page.waitForURL(new RegExp(`user=${AUDITOR.username}`));
    await page.getByTestId('audit').locator('tbody tr').first().waitFor();
    await screenshot(page, '31-audit-log');
    // Every list request is audited too (issue 12 item 2): the session's entries span more than one page.
    const more = page.getByRole('button', { name: 'Load more' });
    for (let i = 0; i < 20 && (await more.count()) > 0; i++) {
      const rows = await page.getByTestId('audit').locator('tbody tr').count();
      await more.click();
      await expect.poll(() => page.getByTestId('audit').locator('tbody tr').count()).toBeGreaterThan(rows);
    }
    const entries = await page.getByTestId('audit').locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr: ElementLike) => ({ action: tr.getAttribute('data-action') ?? '', text: tr.textContent ?? '' })),
    );
    const has = (action: string, needle?: string) => entries.some((e) => e.action === action && (!needle || e.text.includes(needle)));
    expect(has('login.ok'), 'sign-in').toBe(true);
    expect(has('search'), 'search').toBe(true);
    expect(has('list'), 'list requests without q').toBe(true);
    expect(has('record.view', target.callId), 'call viewed').toBe(true);
    expect(has('record.view', target.enquiryId), 'enquiry viewed').toBe(true);
    expect(has('media.play', target.recordingFileId), 'recording played').toBe(true);
    expect(has('export'), 'export').toBe(true);
    expect(has('logout'), 'sign-out').toBe(true);
    expect(syncRequests, 'Sync status stopped refreshing when it was left').toEqual([]);
    await logout();
  });

  it('one person, one identity: a contact re-delivered under new _ids is listed once with its history; the Contact filter resolves names', async () => {
    // A vendor that gives a re-delivered contact a new _id: two earlier deliveries of one contact from older archives.
    const contacts = db.collection('dynamic-phonebook.contacts');
    const ben = await contacts.findOne({}, { sort: { name: 1 } });
    if (!ben) throw new Error('no contact');
    const name = String(ben.name);
    const stamp = ben._retention as Document;
    const older = (days: number, company: string): Document => ({
      ...ben, _id: new ObjectId(), company,
      _retention: { ...stamp, archive: String(stamp.archive).replace(/_(\d{8})(\d{6})\.zip$/, `_2026102${days}$2.zip`), createdAt: new Date(Date.UTC(2026, 9, 20 + days, 3)) },
    });
    // And another customer of the same name (a choice must be offered), with a number that tells them apart.
    const namesake = { ...ben, _id: new ObjectId(), contactId: 'c1e2e000-0000-4000-8000-000000000001', company: 'Namesake Holdings', phones: [{ label: 'mobile', number: '+85290000001' }] };
    await contacts.insertMany([older(1, 'First Company Ltd'), older(2, 'Second Company Ltd'), namesake]);
    await refreshIdentity(db, 'dynamic-phonebook.contacts', [String(ben.contactId), namesake.contactId], majority(10_000));
    const sameName = (await contacts.distinct('contactId', { name })).length;

    await login(AUDITOR);
    await page.goto(`/contacts?q=${encodeURIComponent(name)}`);
    expect(await listLoaded()).toBe(sameName); // the person and the namesake, each once (not once per delivery)
    await page.locator(`tbody tr.row[data-id="${String(ben.contactId)}"]`).getByRole('link').click();
    await page.waitForURL(new RegExp(`/contacts/${String(ben.contactId)}$`));
    const history = page.getByRole('region', { name: /^History/ });
    await expect.poll(() => history.getByRole('heading').textContent()).toBe('History (3 versions)');
    const rows = await history.locator('tbody tr').allTextContents();
    expect(rows[0]).toContain(String(stamp.archive));
    expect(rows[0]).toContain('current');
    expect(rows[1]).toContain('company: First Company Ltd → Second Company Ltd');
    expect(rows[2]).toContain('First delivery');
    await screenshot(page, '40-contact-history');

    // The Contact filter of Call Recordings: a name two customers share offers a choice, then shows as a chip.
    await page.goto('/recordings');
    await listLoaded();
    await page.getByLabel('Contact', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Apply' }).click();
    const choice = page.getByRole('group', { name: `Several contacts are named “${name}”. Which one?` });
    await choice.waitFor();
    expect(await choice.getByRole('button').count()).toBe(sameName);
    await choice.getByRole('button', { name: /Namesake Holdings/ }).click();
    await page.waitForURL(new RegExp(`contact=${namesake.contactId}`));
    await listLoaded();
    const chips = page.getByRole('list', { name: 'Active filters' });
    await expect.poll(() => chips.textContent()).toContain(`Contact: ${name}`);
    await page.getByRole('button', { name: `Remove filter Contact: ${name}` }).click();
    await page.waitForURL((url) => !url.search.includes('contact='));
    expect(await chips.count()).toBe(0);
    await page.getByLabel('Contact', { exact: true }).fill('Nobody Of This Name');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.getByRole('alert').allTextContents()).toContain('No contact named “Nobody Of This Name”');
    await logout();
  });
});
