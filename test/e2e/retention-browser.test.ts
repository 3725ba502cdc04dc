import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, newAuditorContext, screenshot } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { startSim, writeProxyConfig, type ProxySetup, type SimHandle } from '../helpers/scenario.js';

const ADMIN = { username: 'admin', password: 'Admin-Pass-2026' };
const AUDITOR = { username: 'auditor1', password: 'Auditor-Pass-2026' };
const POLICY = { id: 'messages-1d', name: 'Messages one day' };
const HOLD = 'Matter 42';
const CONFIG_POLICY = 'contacts-config';

/**
 * Retention governance in a real browser, walked by labels and roles: an admin creates a policy (dry-run), runs it and
 * reads the plan, switches it to enforce by typing its name, places a legal hold on a room, sees the hold mark on a
 * message of that room; the enforcing run archives the other messages but not the held ones; one archived message is
 * restored; an auditor sees no governance pages but does see the hold mark.
 */
describe('retention governance in Chromium', () => {
  let h: SimHandle;
  let setup: ProxySetup;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let client: MongoClient;
  let db: Db;
  let held: { messageId: string; roomId: string };
  let voicemailId: string;

  beforeAll(async () => {
    h = await startSim();
    // The simulated day is a month before the test's clock: with activeDays 1 every message is due for archive.
    await h.sim.publishDay({ date: new Date(Date.UTC(2026, 9, 1, 3, 0, 0)), records: 150, mediaBytes: 32 * 1024 });
    // No nightly run (it could collide with "Run now"); one policy from the configuration file.
    const extra = [
      'portal:', '  host: 127.0.0.1', '  port: 0',
      'retention:', '  enabled: false', '  batchPauseMs: 0', '  policies:',
      `    - id: ${CONFIG_POLICY}`, '      name: Contacts (config)', '      dataType: contacts', '      activeDays: 5000', '      archiveDays: 0', '',
    ].join('\n');
    setup = await writeProxyConfig(h, { siteId: 'e2e-retention', dbName: 'e2e_retention', extra });
    const sync = await runCli(['sync', '--once', '--json', '--config', setup.configPath]);
    expect(sync.code, sync.stderr.slice(-3000)).toBe(0);
    for (const [user, role] of [[ADMIN, 'admin'], [AUDITOR, 'auditor']] as const) {
      const pwFile = join(setup.dir, `${user.username}.pw`);
      await writeFile(pwFile, `${user.password}\n`, { mode: 0o600 });
      const add = await runCli(['user', 'add', '--username', user.username, '--role', role, '--password-file', pwFile, '--config', setup.configPath]);
      expect(add.code, add.stdout + add.stderr.slice(-3000)).toBe(0);
    }
    client = await MongoClient.connect(inject('mongoUri'));
    db = client.db(setup.dbName);
    const msg = await db.collection<{ messageId: string; roomId: string }>('history.messages').findOne({}, { sort: { sentAt: 1 } });
    if (!msg) throw new Error('the simulator produced no message');
    held = { messageId: msg.messageId, roomId: msg.roomId };
    const vm = await db.collection<{ fileId: string }>('file-management.files').findOne({ category: 'voicemail' });
    if (!vm) throw new Error('the simulator produced no voicemail');
    voicemailId = vm.fileId;

    daemon = startDaemon('proxy', setup.configPath);
    browser = await launchBrowser();
    page = await (await newAuditorContext(browser, await daemon.url())).newPage();
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && page) {
      await screenshot(page, 'retention-failure');
      console.error(`failed at ${page.url()}\n${daemon.logs.slice(-30).map((l) => JSON.stringify(l)).join('\n')}`);
    }
  });

  afterAll(async () => {
    await browser?.close();
    const exit = await daemon?.kill('SIGTERM');
    await client?.close();
    await h?.sim.close();
    if (setup) await rm(setup.dir, { recursive: true, force: true });
    expect(exit?.code ?? 0, 'the daemon stops cleanly on SIGTERM').toBe(0);
  });

  async function login(user: { username: string; password: string }): Promise<void> {
    await page.goto('/login');
    await page.getByLabel('User name').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/enquiries');
  }

  const nav = () => page.getByRole('navigation', { name: 'Main' });
  const archivedMessages = () => db.collection('history.messages').countDocuments({ _archived: { $exists: true } });

  /** "Run now", then the run's page until it is done; returns the plan row of the policy. */
  async function runNow(): Promise<ReturnType<Page['locator']>> {
    await nav().getByRole('link', { name: 'Retention runs' }).click();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/admin\/retention\/runs\/[^/]+$/);
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 30_000 }).toBe('done');
    return page.getByRole('table').locator(`tr[data-policy="${POLICY.id}"]`);
  }

  it('policy in dry-run, its plan, typed switch to enforce, a legal hold and its mark; the auditor sees no admin pages', async () => {
    const messages = await db.collection('history.messages').countDocuments();
    const inRoom = await db.collection('history.messages').countDocuments({ roomId: held.roomId });
    expect(messages).toBeGreaterThan(inRoom);

    await login(ADMIN);
    // --- a new policy: dry-run, source portal
    await nav().getByRole('link', { name: 'Retention policies' }).click();
    await page.getByRole('heading', { name: 'Retention policies' }).waitFor();
    const form = page.getByRole('form', { name: 'New retention policy' });
    await form.getByLabel('Policy ID').fill(POLICY.id);
    await form.getByLabel('Name', { exact: true }).fill(POLICY.name);
    await form.getByLabel('Data type').selectOption('messages');
    await form.getByLabel('Scope').selectOption('all');
    await form.getByLabel('Active days').fill('1');
    await form.getByLabel('Archive days').fill('3650');
    await form.getByRole('button', { name: 'Create policy' }).click();
    const row = page.locator(`tr[data-policy="${POLICY.id}"]`);
    await expect.poll(() => row.textContent()).toContain('dry-run');
    expect(await row.textContent()).toContain('Portal');
    // the configuration file's policy: its source shown, nothing to change in the portal
    const configRow = page.locator(`tr[data-policy="${CONFIG_POLICY}"]`);
    expect(await configRow.textContent()).toContain('Configuration file');
    expect(await configRow.getByRole('button').count()).toBe(0);
    await screenshot(page, 'ret-01-policy');

    // --- run now: the plan says what would be archived; nothing changes
    const planRow = await runNow();
    await expect.poll(() => planRow.textContent()).toContain('nothing (dry-run)');
    const toArchive = Number((await planRow.locator('td').nth(2).textContent())?.trim().split(/\s/)[0]);
    expect(toArchive).toBe(messages);
    expect(await planRow.getByRole('link').count()).toBeGreaterThan(0); // samples link to the records
    expect(await archivedMessages()).toBe(0);
    await screenshot(page, 'ret-02-dry-run-plan');

    // --- switch to enforce: the dialog wants the policy's name typed
    await nav().getByRole('link', { name: 'Retention policies' }).click();
    await row.getByRole('button', { name: 'Switch to enforce' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/Type the policy name/).fill('messages');
    await dialog.getByRole('button', { name: 'Switch to enforce' }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent()).toContain('does not match');
    expect(await row.textContent()).toContain('dry-run');
    await dialog.getByLabel(/Type the policy name/).fill(POLICY.name);
    await screenshot(page, 'ret-03-enforce-dialog');
    await dialog.getByRole('button', { name: 'Switch to enforce' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => row.textContent()).toContain('enforce');
    expect(await row.textContent()).toContain(`by ${ADMIN.username}`);

    // --- a legal hold on the room of one message
    await nav().getByRole('link', { name: 'Legal holds' }).click();
    const holdForm = page.getByRole('form', { name: 'New legal hold' });
    await holdForm.getByLabel('Hold name').fill(HOLD);
    await holdForm.getByLabel('Reason').fill('Litigation: preserve the room');
    await holdForm.getByLabel('Room IDs').fill(held.roomId);
    await holdForm.getByRole('button', { name: 'Place hold' }).click();
    await page.getByRole('cell', { name: HOLD, exact: true }).waitFor();
    expect(await page.getByRole('link', { name: 'Export ZIP' }).count()).toBe(1);
    await screenshot(page, 'ret-04-hold');

    // --- the message's page: which policy applies, when, and the hold mark
    await page.goto(`/messages/${held.messageId}`);
    const panel = page.getByRole('region', { name: 'Retention' });
    await expect.poll(() => panel.textContent()).toContain(`On legal hold: ${HOLD}`);
    expect(await panel.textContent()).toContain(POLICY.name);
    expect(await panel.getByRole('definition').count()).toBeGreaterThanOrEqual(3);
    await screenshot(page, 'ret-05-record-panel');

    // --- the enforcing run archives every message but the held room's
    const enforced = await runNow();
    await expect.poll(() => enforced.textContent()).toContain(`archived ${messages - inRoom}`);
    expect(await archivedMessages()).toBe(messages - inRoom);
    expect(await db.collection('history.messages').countDocuments({ roomId: held.roomId, _archived: { $exists: true } })).toBe(0);
    await screenshot(page, 'ret-06-enforced-run');

    // --- archived data: open an archived message and restore it with a reason
    await nav().getByRole('link', { name: 'Archived data' }).click();
    await page.getByLabel('Data type').selectOption('messages');
    const first = page.getByRole('table').locator('tbody tr').first();
    await first.waitFor();
    const archivedId = (await first.getAttribute('data-id')) ?? '';
    await first.getByRole('link', { name: archivedId }).click();
    await page.waitForURL(new RegExp(`/admin/retention/archived/messages/${archivedId}$`));
    await page.getByLabel('Restore reason').fill('Needed by legal');
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Restored to active' }).waitFor();
    expect(await db.collection('history.messages').countDocuments({ messageId: archivedId, _archived: { $exists: true } })).toBe(0);
    await screenshot(page, 'ret-07-restored');
    await page.getByTestId('logout').click();
    await page.waitForURL(/\/login/);

    // --- the auditor: no governance pages, but the hold mark on the record
    await login(AUDITOR);
    for (const label of ['Retention policies', 'Legal holds', 'Retention runs', 'Archived data']) expect(await nav().getByRole('link', { name: label }).count(), label).toBe(0);
    await page.goto('/admin/retention/policies');
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    await page.goto(`/messages/${held.messageId}`);
    await expect.poll(() => page.getByRole('region', { name: 'Retention' }).textContent()).toContain(`On legal hold: ${HOLD}`);
    // a voicemail's page: its file record and, separately, its binary (no policy covers either: kept for ever)
    await page.goto(`/voicemails/${voicemailId}`);
    const vmPanel = page.getByRole('region', { name: 'Retention' });
    await expect.poll(() => vmPanel.textContent()).toContain('No retention policy covers this media file');
    expect(await vmPanel.textContent()).toContain('No retention policy covers this record');
  });
});
