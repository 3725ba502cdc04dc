import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, newAuditorContext, screenshot, signIn } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { startSim, writeProxyConfig, type SimHandle } from '../helpers/scenario.js';

const ADMIN = { username: 'admin', password: 'Admin-Pass-2026' };

/** An admin checks the archive's integrity in the portal: the day's digest after a sync, and "Verify record". */
describe('Integrity in the portal (Chromium)', () => {
  let h: SimHandle;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let callId = '';
  const dbName = `e2e_integrity_${Date.now().toString(36)}`;

  beforeAll(async () => {
    h = await startSim();
    await h.sim.publishDay({ date: new Date(Date.UTC(2026, 10, 1, 3, 0, 0)), records: 150, mediaBytes: 64 * 1024 });
    const setup = await writeProxyConfig(h, { siteId: 'e2e-integrity', dbName, extra: `portal:\n  host: 127.0.0.1\n  port: 0\n` });
    const sync = await runCli(['sync', '--once', '--json', '--config', setup.configPath]);
    expect(sync.code, sync.stderr.slice(-3000)).toBe(0);
    const pwFile = join(setup.dir, 'admin.pw');
    await writeFile(pwFile, `${ADMIN.password}\n`, { mode: 0o600 });
    expect((await runCli(['user', 'add', '--username', ADMIN.username, '--role', 'admin', '--password-file', pwFile, '--config', setup.configPath])).code).toBe(0);
    const client = await MongoClient.connect(inject('mongoUri'));
    try {
      callId = String((await client.db(dbName).collection('history.calls').findOne({}, { sort: { startedAt: 1 } }))?.callId);
    } finally {
      await client.close();
    }
    daemon = startDaemon('proxy', setup.configPath);
    browser = await launchBrowser();
    page = await (await newAuditorContext(browser, await daemon.url())).newPage();
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && page) await screenshot(page, 'integrity-failure');
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.kill('SIGTERM');
    const client = await MongoClient.connect(inject('mongoUri'));
    await client.db(dbName).dropDatabase().finally(() => client.close());
    await h?.sim.close();
  });

  it('shows the digest the sync made, offers it for download, and "Verify record" on a call confirms its hash', async () => {
    await page.goto('/');
    await page.waitForURL(/\/login/);
    await signIn(page, ADMIN);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Integrity', exact: true }).click();
    await page.getByRole('heading', { name: 'Integrity', level: 1 }).waitFor();
    const digests = page.getByRole('table', { name: 'Daily digests' });
    await digests.getByRole('cell', { name: '2026-11-01', exact: true }).waitFor();
    expect(await page.getByRole('link', { name: 'Download digests' }).getAttribute('href')).toBe('/api/v1/integrity/digests.txt');
    await screenshot(page, 'integrity-page');

    await page.goto(`/calls/${encodeURIComponent(callId)}`);
    await page.getByRole('button', { name: 'Verify record' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'recorded hash' }).textContent()).toContain('✔ Stored record matches the recorded hash');
  });
});
