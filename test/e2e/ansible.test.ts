import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile, chmod, copyFile, chown } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ARCHIVE_KEY, SERVICE_ID, SIGNING_SECRET, startSim, type SimHandle } from '../helpers/scenario.js';
import { ansibleTools, chrootUser, run, waitForHttp } from '../helpers/ansible.js';
import { freePort } from '../helpers/sshd.js';

const execFileP = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ANSIBLE_DIR = join(REPO, 'ansible');

/**
 * The Ansible role for real: `ansible-lint` (production profile) and `--syntax-check` for both inventories, then
 * site.yml applied with the chroot connection to a fresh Debian bookworm root (debootstrap, cached by
 * scripts/install-ansible.sh), secrets from an Ansible Vault file. The role ends with `retention-proxy check`, which
 * must pass against the vendor simulator and the test database. Then: the files, user and permissions it made; the
 * unit verified by `systemd-analyze verify` inside that root; the unit's ExecStart run as the service user with the
 * rendered configuration and credentials (no systemd runs here), which pulls, imports and reports the published
 * archive and stops cleanly on SIGTERM; and a second run of the playbook that changes nothing.
 */
describe('ansible: the retention_proxy role applied to a Debian chroot', () => {
  const tools = ansibleTools();
  let h: SimHandle;
  let work: string;
  let root: string;
  let portalPort: number;
  let firstRun: { code: number | null; out: string };

  const env = { ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', PY_COLORS: '0' };
  const playbook = (): Promise<{ code: number | null; out: string }> =>
    run(tools.playbook, ['-i', join(work, 'inventory.yml'), 'site.yml', '-e', `@${join(work, 'vault.yml')}`, '--vault-password-file', join(work, 'vault-pass')], { cwd: ANSIBLE_DIR, env, timeoutMs: 240_000 });

  beforeAll(async () => {
    tools.assertInstalled();
    h = await startSim();
    await h.sim.publishDay({ date: new Date(Date.UTC(2026, 10, 2, 3)), records: 200, mediaBytes: 64 * 1024, layout: 'lines' });
    work = await mkdtemp(join(tmpdir(), 'rp-ansible-'));
    root = join(work, 'root');
    await mkdir(root);
    portalPort = await freePort();
    // `npm test` has built dist/ (as for every e2e test): pack it as it is.
    const release = await run('bash', [join(REPO, 'scripts/release.sh'), join(work, 'release')], { cwd: REPO, env: { RELEASE_SKIP_BUILD: '1' }, timeoutMs: 180_000 });
    expect(release.code, release.out).toBe(0);
    const tarball = release.out.trim().split('\n').at(-1) ?? '';
    await execFileP('tar', ['-C', root, '-xf', tools.chrootTar]);

    await writeFile(join(work, 'inventory.yml'), `all:
  children:
    retention_proxy:
      hosts:
        ci-chroot:
          ansible_connection: community.general.chroot
          ansible_host: ${root}
          ansible_python_interpreter: /usr/bin/python3
`);
    const clientKey = await readFile(h.clientKeyPath, 'utf8');
    const vars = {
      retention_proxy_release_tarball: tarball,
      retention_proxy_node_source: 'tarball',
      retention_proxy_node_tarball: tools.nodeTarball,
      retention_proxy_site_id: 'ansible-ci',
      retention_proxy_service_id: SERVICE_ID,
      retention_proxy_sftp_host: '127.0.0.1',
      retention_proxy_sftp_port: h.sim.sftpPort,
      retention_proxy_sftp_username: 'vendor',
      retention_proxy_sftp_host_key_fingerprint: h.sim.hostKeyFingerprint,
      retention_proxy_mongodb_uri: inject('mongoUri'),
      retention_proxy_mongodb_database: `ansible_ci_${process.pid}`,
      retention_proxy_vendor_status_url: h.sim.statusUrl,
      retention_proxy_staging_min_free_bytes: 0,
      retention_proxy_portal_host: '127.0.0.1',
      retention_proxy_portal_port: portalPort,
      // The test database is one server (FerretDB, or a one-member set): accepted explicitly, as the single-VM layout does.
      retention_proxy_config_extra: { sftp: { settleSeconds: 0.2 }, mongodb: { allowSingleNode: true } },
      retention_proxy_archive_key: ARCHIVE_KEY,
      retention_proxy_sftp_private_key: clientKey,
      retention_proxy_vendor_signing_secret: SIGNING_SECRET,
    };
    // Secrets the way docs/install.md tells customers to keep them: an Ansible Vault file.
    await writeFile(join(work, 'vault-pass'), 'ci-vault-password\n', { mode: 0o600 });
    await writeFile(join(work, 'vault.yml'), JSON.stringify(vars, null, 2), { mode: 0o600 });
    const enc = await run(tools.vault, ['encrypt', '--vault-password-file', join(work, 'vault-pass'), join(work, 'vault.yml')], { env });
    expect(enc.code, enc.out).toBe(0);
    expect(await readFile(join(work, 'vault.yml'), 'utf8')).toMatch(/^\$ANSIBLE_VAULT;/);

    firstRun = await playbook();
  }, 420_000);

  afterAll(async () => {
    await h?.sim.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('ansible-lint passes on the production profile', async () => {
    const lint = await run(tools.lint, ['--offline', '--nocolor', '--profile', 'production'], { cwd: ANSIBLE_DIR, env, timeoutMs: 180_000 });
    expect(lint.code, lint.out).toBe(0);
    expect(lint.out).toContain("Profile 'production' was required, and it passed");
  });

  it('site.yml passes --syntax-check with both example inventories', async () => {
    for (const inventory of ['inventories/single/hosts.yml', 'inventories/ha/hosts.yml']) {
      const res = await run(tools.playbook, ['--syntax-check', '-i', inventory, 'site.yml'], { cwd: ANSIBLE_DIR, env });
      expect(res.code, `${inventory}\n${res.out}`).toBe(0);
    }
  });

  it('applies the role and its last task, retention-proxy check, passes against the simulator and the database', () => {
    expect(firstRun.code, firstRun.out.slice(-6000)).toBe(0);
    for (const line of ['archive key', 'sftp reachable', 'sftp host key', 'sftp authentication', 'sftp remote directory', 'mongodb reachable', 'mongodb majority write', 'vendor status endpoint']) {
      expect(firstRun.out).toMatch(new RegExp(`PASS {2}${line}`));
    }
    expect(firstRun.out).not.toMatch(/FAIL {2}/);
  });

  it('made the service user, the files and the permissions the hardening relies on', async () => {
    const user = await chrootUser(root, 'retention-proxy');
    expect(user.shell).toBe('/usr/sbin/nologin');
    expect(user.uid).toBeLessThan(1000); // a system user
    const mode = async (p: string): Promise<{ mode: string; uid: number; gid: number }> => {
      const s = await stat(join(root, p));
      return { mode: (s.mode & 0o7777).toString(8), uid: s.uid, gid: s.gid };
    };
    expect(await mode('etc/retention-proxy')).toEqual({ mode: '750', uid: 0, gid: user.gid });
    expect(await mode('etc/retention-proxy/config.yaml')).toEqual({ mode: '640', uid: 0, gid: user.gid });
    expect(await mode('etc/retention-proxy/credentials')).toEqual({ mode: '700', uid: 0, gid: 0 });
    for (const name of ['archive-key', 'sftp-key', 'vendor-signing-secret']) {
      expect(await mode(`etc/retention-proxy/credentials/${name}`)).toEqual({ mode: '600', uid: 0, gid: 0 });
    }
    expect(await readFile(join(root, 'etc/retention-proxy/credentials/archive-key'), 'utf8')).toBe(ARCHIVE_KEY);
    const config = await readFile(join(root, 'etc/retention-proxy/config.yaml'), 'utf8');
    expect(config).not.toContain(ARCHIVE_KEY);
    expect(config).not.toContain(SIGNING_SECRET);
    expect(config).toContain('keyFile: archive-key');
    // The upload inbox (sftp_inbox role) is off: the vendor's SFTP server and the key it authorised, nothing of the inbox.
    expect(await readFile(join(root, 'etc/retention-proxy/credentials/sftp-key'), 'utf8')).toBe(await readFile(h.clientKeyPath, 'utf8'));
    const sftp = (parseYaml(config) as { sftp: Record<string, unknown> }).sftp;
    expect(sftp).toMatchObject({ host: '127.0.0.1', port: h.sim.sftpPort, username: 'vendor', remoteDir: '/', privateKeyFile: 'sftp-key' });
    expect(Object.keys(sftp)).not.toContain('peers');
    expect(Object.keys(sftp)).not.toContain('deleteAfterDownloaded');
    expect(await stat(join(root, 'etc/ssh/sshd_config.d/60-rp-inbox.conf')).catch(() => null)).toBeNull();
    // No certificate given: a self-signed one was generated, and the portal is configured with it.
    expect(await mode('etc/retention-proxy/tls')).toEqual({ mode: '750', uid: 0, gid: user.gid });
    expect(await mode('etc/retention-proxy/tls/portal.key')).toEqual({ mode: '640', uid: 0, gid: user.gid });
    expect(await readFile(join(root, 'etc/retention-proxy/tls/portal.crt'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(config).toContain('certFile: /etc/retention-proxy/tls/portal.crt');
    expect(await mode('var/lib/retention-proxy')).toEqual({ mode: '750', uid: user.uid, gid: user.gid });
    expect(await mode('opt/retention-proxy/releases/0.1.0/dist/proxy/cli/main.js')).toMatchObject({ uid: 0 });
    expect(await readlink(join(root, 'opt/retention-proxy/current'))).toBe('/opt/retention-proxy/releases/0.1.0');
    expect(await readFile(join(root, 'etc/systemd/system/retention-proxy.service'), 'utf8')).toBe(await readFile(join(REPO, 'deploy/retention-proxy.service'), 'utf8'));
    expect(await readlink(join(root, 'etc/systemd/system/multi-user.target.wants/retention-proxy.service'))).toBe('/etc/systemd/system/retention-proxy.service');
    const node = await run('chroot', [root, '/opt/retention-proxy/bin/node', '--version']);
    expect(node.out.trim()).toMatch(/^v22\./);
  });

  it('the installed unit and its drop-in pass systemd-analyze verify inside the target root', async () => {
    const verify = await run('systemd-analyze', ['verify', `--root=${root}`, 'retention-proxy.service']);
    expect(verify.code, verify.out).toBe(0);
    expect(verify.out.trim(), 'no warnings either').toBe('');
    const security = await run('systemd-analyze', ['security', '--offline=true', `--root=${root}`, 'retention-proxy.service']);
    const score = /Overall exposure level for retention-proxy\.service: ([\d.]+)/.exec(security.out);
    expect(Number(score?.[1]), security.out.slice(-500)).toBeLessThanOrEqual(2);
  });

  it("runs the unit's ExecStart as the service user, sandboxed, with its credentials: imports, reports, stops cleanly", async () => {
    const unit = await readFile(join(root, 'etc/systemd/system/retention-proxy.service'), 'utf8');
    const execStart = /^ExecStart=(.+)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
    expect(execStart[0]).toBe('/opt/retention-proxy/bin/node');
    const workingDir = /^WorkingDirectory=(.+)$/m.exec(unit)?.[1] ?? '/';
    const stateDir = `/var/lib/${/^StateDirectory=(.+)$/m.exec(unit)?.[1] ?? ''}`;
    expect(/^ReadWritePaths=(.+)$/m.exec(unit)?.[1]).toBe(stateDir);
    const user = await chrootUser(root, 'retention-proxy');
    // What LoadCredential= does: a private copy of each credential, readable by the service user alone.
    const credDir = join(root, 'run/credentials/retention-proxy.service');
    await mkdir(credDir, { recursive: true });
    for (const name of ['archive-key', 'sftp-key', 'vendor-signing-secret']) {
      await copyFile(join(root, 'etc/retention-proxy/credentials', name), join(credDir, name));
      await chmod(join(credDir, name), 0o400);
      await chown(join(credDir, name), user.uid, user.gid);
    }
    await chown(credDir, user.uid, user.gid);
    await chmod(credDir, 0o500);
    let child: ChildProcess | undefined;
    try {
      // No systemd here: test/helpers/unit-sandbox.sh reproduces what it can of the unit's sandbox (read-only
      // system but the state directory, private /proc and /tmp, no privileges); the rest is systemd-analyze's.
      const sandbox = fileURLToPath(new URL('../helpers/unit-sandbox.sh', import.meta.url));
      child = spawn('unshare', ['--mount', 'sh', sandbox, root, String(user.uid), String(user.gid), workingDir, stateDir, '--',
        'CREDENTIALS_DIRECTORY=/run/credentials/retention-proxy.service', 'NODE_ENV=production', ...execStart], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => child?.on('close', (code) => resolve(code)));
      // HTTPS by default: the role generated a self-signed certificate (no certificate was given).
      const base = `https://127.0.0.1:${portalPort}`;
      await waitForHttp(`${base}/healthz`, 30_000, () => output);
      // The cycle at start pulls the published archive: wait for the vendor's Backup Log to say "Data Downloaded".
      const deadline = Date.now() + 60_000;
      const row = (): string | undefined => h.sim.backupLog().find((r) => r.siteId === 'ansible-ci')?.statusText;
      while (Date.now() < deadline && row() !== 'Data Downloaded') await new Promise((r) => setTimeout(r, 300));
      expect(row(), output.slice(-3000)).toBe('Data Downloaded');
      const staged = await stat(join(root, 'var/lib/retention-proxy/staging/incoming'));
      expect(staged.uid, 'staging is written by the service user').toBe(user.uid);
      child.kill('SIGTERM');
      expect(await exited, output.slice(-2000)).toBe(0);
      expect(output).not.toContain(ARCHIVE_KEY);
      expect(output, 'nothing tried to write outside the state directory').not.toMatch(/EROFS|read-only file system/i);
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it("keepalived's leader check follows /readyz's lease.holder", async () => {
    // Rendered by Ansible's template module from the keepalived role, run against a stand-in /readyz.
    const prefix = join(work, 'keepalived');
    await mkdir(join(prefix, 'bin'), { recursive: true });
    await symlink(process.execPath, join(prefix, 'bin', 'node'));
    let body: unknown = {};
    const server = createServer((_req, res) => res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const script = join(prefix, 'leader-check');
      // The stand-in speaks plain HTTP: as for a portal without a certificate.
      const extra = JSON.stringify({ retention_proxy_prefix: prefix, retention_proxy_portal_port: port, retention_proxy_portal_tls_generate: false });
      const rendered = await run(tools.ansible, ['localhost', '-c', 'local', '-m', 'ansible.builtin.template', '-a', `src=${join(ANSIBLE_DIR, 'roles/keepalived/templates/leader-check.sh.j2')} dest=${script} mode=0755`, '-e', `@${join(ANSIBLE_DIR, 'roles/keepalived/defaults/main.yml')}`, '-e', extra], { cwd: ANSIBLE_DIR, env });
      expect(rendered.code, rendered.out).toBe(0);
      const verdict = async (b: unknown): Promise<number | null> => {
        body = b;
        return (await run(script, [])).code;
      };
      expect(await verdict({ ready: true, lease: { holder: true, token: 7 } })).toBe(0);
      expect(await verdict({ ready: true, lease: { holder: false } })).toBe(1);
      expect(await verdict({ ready: true })).toBe(1);
    } finally {
      server.close();
    }
    expect((await run(join(prefix, 'leader-check'), [])).code, 'no proxy answering').toBe(1);
  });

  it('a second run of the playbook changes nothing', async () => {
    const again = await playbook();
    expect(again.code, again.out.slice(-4000)).toBe(0);
    expect(again.out, again.out.slice(-4000)).toMatch(/ci-chroot\s+: ok=\d+\s+changed=0 /);
  });
});
