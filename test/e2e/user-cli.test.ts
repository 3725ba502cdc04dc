import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { startSim, writeProxyConfig, type ProxySetup, type SimHandle } from '../helpers/scenario.js';
import { freePort } from '../helpers/sshd.js';

const run = promisify(execFile);

describe('retention-proxy user add|list|passwd, and run with portal.adminPasswordFile over TLS', () => {
  let h: SimHandle;
  let setup: ProxySetup;
  let port: number;
  const dbName = `e2e_users_${Date.now().toString(36)}`;

  beforeAll(async () => {
    h = await startSim();
    port = await freePort();
    const dir = h.dir;
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'portal.key'), '-out', join(dir, 'portal.crt')]);
    await writeFile(join(dir, 'admin.password'), 'Install-Admin-1\n', { mode: 0o600 });
    setup = await writeProxyConfig(h, {
      siteId: 'e2e-users',
      dbName,
      extra: `portal:\n  host: 127.0.0.1\n  port: ${port}\n  adminPasswordFile: ${join(dir, 'admin.password')}\n  tls:\n    certFile: ${join(dir, 'portal.crt')}\n    keyFile: ${join(dir, 'portal.key')}\n`,
    });
  });
  afterAll(async () => {
    await h?.sim.close();
  });

  it('adds, lists and re-keys accounts; refuses duplicates and weak passwords with their codes', async () => {
    const pw = join(setup.dir, 'auditor.password');
    await writeFile(pw, 'Auditor-Pass-1\n', { mode: 0o600 });
    const add = await runCli(['user', 'add', '--username', 'alice', '--role', 'auditor', '--password-file', pw, '--config', setup.configPath]);
    expect(add.code, add.stderr).toBe(0);
    const dup = await runCli(['user', 'add', '--username', 'alice', '--role', 'auditor', '--password-file', pw, '--config', setup.configPath]);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain('USER_EXISTS');
    await writeFile(join(setup.dir, 'weak'), 'weakpass\n', { mode: 0o600 });
    const weak = await runCli(['user', 'add', '--username', 'bob', '--role', 'auditor', '--password-file', join(setup.dir, 'weak'), '--config', setup.configPath]);
    expect(weak.stderr).toContain('PASSWORD_WEAK');
    const badRole = await runCli(['user', 'add', '--username', 'bob', '--role', 'root', '--password-file', pw, '--config', setup.configPath]);
    expect([badRole.code, badRole.stderr.includes('USAGE')]).toEqual([2, true]);
    await writeFile(pw, 'Auditor-Pass-2\n', { mode: 0o600 });
    const passwd = await runCli(['user', 'passwd', '--username', 'alice', '--password-file', pw, '--config', setup.configPath]);
    expect(passwd.code, passwd.stderr).toBe(0);
    const list = await runCli(['user', 'list', '--json', '--config', setup.configPath]);
    expect((JSON.parse(list.stdout) as { username: string; role: string }[]).map((u) => [u.username, u.role])).toEqual([['alice', 'auditor']]);

    // Every account change through the CLI is audited as user `cli`, refused ones with their code.
    const client = await MongoClient.connect(inject('mongoUri'));
    try {
      const entries = await client.db(dbName).collection('portal.audit').find({ user: 'cli' }).sort({ at: 1 }).toArray();
      expect(entries.map((e): unknown[] => [e.action, e.target, e.outcome, (e.details as { error?: string } | undefined)?.error ?? null])).toEqual([
        ['user.create', 'users/alice', 'ok', null],
        ['user.create', 'users/alice', 'failed', 'USER_EXISTS'],
        ['user.create', 'users/bob', 'failed', 'PASSWORD_WEAK'],
        ['user.update', 'users/alice', 'ok', null],
      ]);
      expect(entries[0]).toMatchObject({ role: null, ip: 'local', details: { role: 'auditor', osUser: expect.any(String) as unknown } });
    } finally {
      await client.close();
    }
  });

  it('run serves the portal over HTTPS, creates admin from the password file, and sets Secure session cookies', async () => {
    const child = spawn(process.execPath, [CLI, 'run', '--config', setup.configPath, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const base = `https://127.0.0.1:${port}`;
      const ca = await readFile(join(h.dir, 'portal.crt'));
      // The certificate made above is the only trusted one: the portal must present it.
      const fetchTls = (path: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; setCookie: string }> =>
        new Promise((resolve, reject) => {
          const req = request(base + path, { method: init.method ?? 'GET', ca, headers: init.body ? { 'content-type': 'application/json' } : {} }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookie: (res.headers['set-cookie'] ?? []).join('\n') }));
          });
          req.on('error', reject);
          req.end(init.body);
        });
      let ready = false;
      for (let i = 0; i < 100 && !ready; i++) {
        ready = await fetchTls('/healthz').then((r) => r.status === 200, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready, output.slice(-3000)).toBe(true);
      const login = await fetchTls('/api/v1/auth/login', { method: 'POST', body: JSON.stringify({ username: 'admin', password: 'Install-Admin-1' }) });
      expect(login.status).toBe(200);
      const cookie = login.setCookie;
      expect(cookie).toMatch(/^rp_session=[A-Za-z0-9_-]{43};/);
      expect(cookie).toMatch(/; Secure/);
      expect(cookie).toMatch(/; HttpOnly/);
      expect(cookie).toMatch(/; SameSite=Strict/);
      const alice = await fetchTls('/api/v1/auth/login', { method: 'POST', body: JSON.stringify({ username: 'alice', password: 'Auditor-Pass-2' }) });
      expect(alice.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
  });
});
