import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ansibleTools, chrootUser, run } from '../helpers/ansible.js';
import { freePort } from '../helpers/sshd.js';

const ANSIBLE_DIR = fileURLToPath(new URL('../../ansible/', import.meta.url));
const env = {
  ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'),
  ANSIBLE_ROLES_PATH: join(ANSIBLE_DIR, 'roles'),
  ANSIBLE_NOCOLOR: '1',
  ANSIBLE_FORCE_COLOR: '0',
  PY_COLORS: '0',
};
const DROPIN_KEYS = ['forcecommand', 'chrootdirectory', 'authorizedkeysfile', 'authenticationmethods', 'pubkeyauthentication',
  'passwordauthentication', 'kbdinteractiveauthentication', 'hostbasedauthentication', 'disableforwarding', 'allowtcpforwarding',
  'allowstreamlocalforwarding', 'allowagentforwarding', 'x11forwarding', 'permittunnel', 'permitopen', 'permitlisten',
  'gatewayports', 'permittty', 'permituserrc'];

/** `sshd -T` output as a map (keyword -> value). */
function effective(out: string): Map<string, string> {
  return new Map(out.split('\n').filter((l) => l.includes(' ')).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
}

/** Resolves when something on the port sends an SSH banner. */
async function waitForBanner(port: number, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.setTimeout(1_000, () => socket.destroy());
      socket.once('data', (d: Buffer) => {
        socket.destroy();
        resolve(d.toString('latin1').startsWith('SSH-2.0-'));
      });
      socket.once('error', () => resolve(false));
      socket.once('close', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not answer on ${port}\n${context().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Issue 14, item 1: the sftp_inbox role applied (one apply, plus the idempotence run) with the chroot connection to
 * a Debian bookworm root that has openssh-server (scripts/install-ansible.sh), together with the retention_proxy
 * role's configuration tasks. Then sshd's effective configuration (`sshd -T -C`) for the two inbox accounts and for
 * an ordinary administrator, and that root's own sshd, started on a loopback port with the Debian sshd_config and
 * the role's drop-in, against the real OpenSSH client: the vendor uploads (.uploading, rename, .sha256), cannot get
 * a shell, run a command, a pty, forward anything, write outside upload/ or use its key from elsewhere; the proxy's
 * collector account, with the key the role installed as the proxy's credential, lists, reads and deletes the
 * upload; the administrator still logs in with a shell.
 */
describe('ansible: the sftp_inbox role (vendor upload inbox) applied to a Debian chroot', () => {
  const tools = ansibleTools();
  let work: string;
  let root: string;
  let adminBefore: string;
  let firstRun: { code: number | null; out: string };
  let sshd: ChildProcess | undefined;
  let sshdLog = '';
  let port = 0;

  const playbook = (): Promise<{ code: number | null; out: string }> =>
    run(tools.playbook, ['-i', join(work, 'inventory.yml'), join(work, 'play.yml'), '-e', `@${join(work, 'vars.json')}`], { cwd: ANSIBLE_DIR, env, timeoutMs: 240_000 });
  const inChroot = (cmd: string, ...args: string[]): Promise<{ code: number | null; out: string }> => run('chroot', [root, cmd, ...args]);
  const sshArgs = (key: string): string[] => ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${join(work, 'known_hosts')}`, '-o', 'ConnectTimeout=10', '-i', key];
  const ssh = (key: string, args: string[]): Promise<{ code: number | null; out: string }> =>
    run('ssh', [...sshArgs(key), '-p', String(port), ...args], { timeoutMs: 30_000 });
  const sftp = async (key: string, user: string, commands: string[]): Promise<{ code: number | null; out: string }> => {
    const batch = join(work, `batch-${user}`);
    await writeFile(batch, `${commands.join('\n')}\n`);
    return run('sftp', [...sshArgs(key), '-P', String(port), '-b', batch, `${user}@127.0.0.1`], { cwd: work, timeoutMs: 30_000 });
  };
  const keygen = async (name: string): Promise<string> => {
    const res = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(work, name)]);
    expect(res.code, res.out).toBe(0);
    return join(work, name);
  };

  beforeAll(async () => {
    tools.assertInstalled();
    work = await mkdtemp(join(tmpdir(), 'rp-ansible-inbox-'));
    root = join(work, 'root');
    await mkdir(root);
    const untar = await run('tar', ['-C', root, '-xf', tools.chrootTar]);
    expect(untar.code, untar.out).toBe(0);
    // An administrator of this VM, as it was before the role: a shell account with its own key.
    await mkdir(join(root, 'run/sshd'), { recursive: true });
    const admin = await keygen('admin_key');
    expect((await inChroot('useradd', '-m', '-s', '/bin/bash', 'admin')).code).toBe(0);
    await mkdir(join(root, 'home/admin/.ssh'), { recursive: true });
    await writeFile(join(root, 'home/admin/.ssh/authorized_keys'), await readFile(`${admin}.pub`));
    expect((await inChroot('chown', '-R', 'admin:admin', '/home/admin/.ssh')).code).toBe(0);
    const before = await inChroot('/usr/sbin/sshd', '-T', '-C', 'user=admin,host=admin-pc,addr=127.0.0.1');
    expect(before.code, before.out).toBe(0);
    adminBefore = before.out;

    const vendor = await keygen('vendor_key');
    await writeFile(join(work, 'inventory.yml'), `all:
  children:
    retention_proxy:
      hosts:
        inbox-chroot:
          ansible_connection: community.general.chroot
          ansible_host: ${root}
          ansible_python_interpreter: /usr/bin/python3
          rp_inbox_address: 127.0.0.1
`);
    // The role as site.yml runs it, then the retention_proxy role's own configuration tasks (config.yaml and the
    // credentials) with what the role handed over.
    await writeFile(join(work, 'play.yml'), `- name: Upload inbox
  hosts: retention_proxy
  gather_facts: false
  become: true
  roles:
    - role: sftp_inbox
      when: rp_inbox_enabled | default(false) | bool
- name: The proxy's configuration for the inbox
  hosts: retention_proxy
  gather_facts: false
  become: true
  vars:
    retention_proxy_systemd_version: 252
    retention_proxy_systemd_running: false
    retention_proxy_portal_tls_generate: false
  tasks:
    - name: Service user
      ansible.builtin.include_role: { name: retention_proxy, tasks_from: user.yml }
    - name: Configuration and credentials
      ansible.builtin.include_role: { name: retention_proxy, tasks_from: config.yml }
`);
    await writeFile(join(work, 'vars.json'), JSON.stringify({
      rp_inbox_enabled: true,
      rp_inbox_vendor_pubkey: (await readFile(`${vendor}.pub`, 'utf8')).trim(),
      // Loopback (the tests' own logins) and a vendor network; one address in it is an administrators' source.
      rp_inbox_vendor_sources: ['127.0.0.1', '10.20.0.0/24'],
      firewall_ssh_from: ['any', '10.20.0.5'],
      // What the vendor's SFTP server settings would be: the inbox replaces them.
      retention_proxy_sftp_host: '10.20.0.5',
      retention_proxy_sftp_username: 'retention',
      retention_proxy_sftp_private_key: 'NOT THE INBOX KEY',
    }), { mode: 0o600 });
    firstRun = await playbook();
    if (firstRun.code !== 0) return;

    port = await freePort();
    const hostKey = (await readFile(join(root, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
    await writeFile(join(work, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
    // That root's sshd with its Debian sshd_config (which includes the role's drop-in), on loopback.
    sshd = spawn('chroot', [root, '/usr/sbin/sshd', '-D', '-e', '-p', String(port), '-o', 'ListenAddress=127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.stderr?.on('data', (d: Buffer) => (sshdLog = (sshdLog + d.toString()).slice(-64 * 1024)));
    await waitForBanner(port, 15_000, () => sshdLog);
  }, 420_000);

  afterAll(async () => {
    if (sshd && sshd.exitCode === null && sshd.signalCode === null) {
      const exited = new Promise((resolve) => sshd?.once('exit', resolve));
      sshd.kill('SIGTERM');
      await exited;
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('applies the role', () => {
    expect(firstRun.code, firstRun.out.slice(-6000)).toBe(0);
  });

  it('sshd -T: both inbox accounts get internal-sftp only, chrooted, key only, no forwarding, no tty', async () => {
    for (const user of ['rp-vendor', 'rp-collect']) {
      const res = await inChroot('/usr/sbin/sshd', '-T', '-C', `user=${user},host=vendor-gw,addr=10.20.0.9`);
      expect(res.code, res.out).toBe(0);
      const eff = effective(res.out);
      expect(eff.get('forcecommand')).toBe('internal-sftp -u 0007 -d /upload -P symlink,hardlink');
      expect(eff.get('chrootdirectory')).toBe('/srv/rp-inbox');
      expect(eff.get('authorizedkeysfile')).toBe('/etc/ssh/rp-inbox-authorized-keys/%u');
      expect(eff.get('authenticationmethods')).toBe('publickey');
      for (const key of ['passwordauthentication', 'kbdinteractiveauthentication', 'hostbasedauthentication', 'allowtcpforwarding',
        'allowstreamlocalforwarding', 'allowagentforwarding', 'x11forwarding', 'permittunnel', 'gatewayports', 'permittty', 'permituserrc']) {
        expect(`${key} ${eff.get(key) ?? ''}`).toBe(`${key} no`);
      }
      expect(eff.get('disableforwarding')).toBe('yes');
      expect(eff.get('permitopen')).toBe('none');
      expect(eff.get('permitlisten')).toBe('none');
    }
  });

  it("an administrator's effective sshd configuration is exactly what it was before the role", async () => {
    const after = await inChroot('/usr/sbin/sshd', '-T', '-C', 'user=admin,host=admin-pc,addr=127.0.0.1');
    expect(after.code, after.out).toBe(0);
    expect(after.out).toBe(adminBefore);
    const eff = effective(after.out);
    expect(eff.get('allowusers')).toBeUndefined();
    // From the vendor's network (the firewall opens the SSH port to it) only the vendor's account may log in; an
    // administrators' own source in it (firewall_ssh_from) is left out.
    const fromVendorNet = await inChroot('/usr/sbin/sshd', '-T', '-C', 'user=admin,host=vendor-gw,addr=10.20.0.9');
    expect(effective(fromVendorNet.out).get('denyusers')).toBe('*');
    const vendorFromVendorNet = await inChroot('/usr/sbin/sshd', '-T', '-C', 'user=rp-vendor,host=vendor-gw,addr=10.20.0.9');
    expect(effective(vendorFromVendorNet.out).get('denyusers')).toBeUndefined();
    const adminSource = await inChroot('/usr/sbin/sshd', '-T', '-C', 'user=admin,host=admin-pc,addr=10.20.0.5');
    expect(effective(adminSource.out).get('denyusers')).toBeUndefined();
    expect(effective(adminSource.out).get('allowusers')).toBeUndefined();
    // With a global AllowUsers naming the administrator (a hardened server), the vendor's network still refuses them.
    const hardened = await inChroot('/bin/sh', '-c', "printf 'AllowUsers admin rp-vendor rp-collect\\nInclude /etc/ssh/sshd_config.d/*.conf\\n' > /tmp/rp-hardened.conf && /usr/sbin/sshd -T -f /tmp/rp-hardened.conf -C user=admin,host=vendor-gw,addr=10.20.0.9; rc=$?; rm -f /tmp/rp-hardened.conf; exit $rc");
    expect(hardened.code, hardened.out).toBe(0);
    expect(effective(hardened.out).get('denyusers')).toBe('*');
    expect(eff.get('forcecommand')).toBe('none');
    expect(eff.get('chrootdirectory')).toBe('none');
    expect(eff.get('authorizedkeysfile')).toBe('.ssh/authorized_keys .ssh/authorized_keys2');
    // The comparison covers every keyword the drop-in sets: sshd -T prints each of them.
    expect(DROPIN_KEYS.filter((k) => !eff.has(k))).toEqual([]);
  });

  it('made the accounts (no shell, no password), the root-owned chroot, the setgid upload directory and root-owned keys', async () => {
    const vendor = await chrootUser(root, 'rp-vendor');
    const collector = await chrootUser(root, 'rp-collect');
    expect([vendor.shell, collector.shell]).toEqual(['/usr/sbin/nologin', '/usr/sbin/nologin']);
    expect(vendor.gid).toBe(collector.gid);
    const group = (await readFile(join(root, 'etc/group'), 'utf8')).split('\n').find((l) => l.startsWith('rp-inbox:'));
    expect(group?.split(':')[2]).toBe(String(vendor.gid));
    const shadow = (await readFile(join(root, 'etc/shadow'), 'utf8')).split('\n');
    for (const name of ['rp-vendor', 'rp-collect']) expect(shadow.find((l) => l.startsWith(`${name}:`))?.split(':')[1]).toBe('*');
    const mode = async (p: string): Promise<{ mode: string; uid: number; gid: number }> => {
      const s = await stat(join(root, p));
      return { mode: (s.mode & 0o7777).toString(8), uid: s.uid, gid: s.gid };
    };
    expect(await mode('srv')).toMatchObject({ uid: 0, mode: '755' });
    expect(await mode('srv/rp-inbox')).toEqual({ mode: '755', uid: 0, gid: 0 });
    expect(await mode('srv/rp-inbox/upload')).toEqual({ mode: '2770', uid: 0, gid: vendor.gid });
    expect(await readdir(join(root, 'srv/rp-inbox'))).toEqual(['upload']);
    expect(await mode('etc/ssh/rp-inbox-authorized-keys/rp-vendor')).toEqual({ mode: '644', uid: 0, gid: 0 });
    const vendorKey = (await readFile(join(work, 'vendor_key.pub'), 'utf8')).trim();
    expect(await readFile(join(root, 'etc/ssh/rp-inbox-authorized-keys/rp-vendor'), 'utf8')).toBe(`restrict,from="127.0.0.1,10.20.0.0/24" ${vendorKey}\n`);
    expect(await mode('etc/rp-inbox/collector_ed25519')).toEqual({ mode: '600', uid: 0, gid: 0 });
    const collectorPub = (await readFile(join(root, 'etc/rp-inbox/collector_ed25519.pub'), 'utf8')).trim();
    expect(await readFile(join(root, 'etc/ssh/rp-inbox-authorized-keys/rp-collect'), 'utf8')).toBe(`restrict,from="127.0.0.1,::1" ${collectorPub}\n`);
  });

  it("points the proxy's sftp settings at the local inbox, pinned to this node's host key, with the collector key as its credential", async () => {
    const config = parseYaml(await readFile(join(root, 'etc/retention-proxy/config.yaml'), 'utf8')) as { sftp: Record<string, unknown> };
    const fp = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(root, 'etc/ssh/ssh_host_ed25519_key.pub')]);
    expect(config.sftp).toEqual({
      host: '127.0.0.1',
      port: 22,
      username: 'rp-collect',
      privateKeyFile: 'sftp-key',
      hostKeyFingerprint: fp.out.split(' ')[1],
      remoteDir: '/upload',
      peers: [],
      deleteAfterDownloaded: true,
    });
    expect(await readFile(join(root, 'etc/retention-proxy/credentials/sftp-key'), 'utf8')).toBe(await readFile(join(root, 'etc/rp-inbox/collector_ed25519'), 'utf8'));
  });

  describe("that root's own sshd on loopback, with the Debian sshd_config and the role's drop-in", () => {
    const vendorKey = (): string => join(work, 'vendor_key');

    it('the vendor uploads: .uploading, rename, .sha256 land in upload/, group rp-inbox, readable by the group', async () => {
      await writeFile(join(work, 'day.zip'), 'archive bytes');
      await writeFile(join(work, 'day.zip.sha256'), 'c0ffee  day.zip\n');
      const res = await sftp(vendorKey(), 'rp-vendor', ['put day.zip day.zip.uploading', 'rename day.zip.uploading day.zip', 'put day.zip.sha256', 'pwd']);
      expect(res.code, `${res.out}\n${sshdLog.slice(-2000)}`).toBe(0);
      expect(res.out).toContain('Remote working directory: /upload');
      const upload = join(root, 'srv/rp-inbox/upload');
      expect((await readdir(upload)).sort()).toEqual(['day.zip', 'day.zip.sha256']);
      const gid = (await chrootUser(root, 'rp-vendor')).gid;
      for (const name of ['day.zip', 'day.zip.sha256']) {
        const s = await stat(join(upload, name));
        expect(s.gid).toBe(gid);
        expect(s.mode & 0o040, `${name} group-readable`).toBe(0o040);
        expect(s.mode & 0o007, `${name} nothing for others`).toBe(0);
      }
    });

    it('a shell, an exec or a pty request from the vendor runs nothing', async () => {
      const marker = '/srv/rp-inbox/upload/pwned';
      const exec = await ssh(vendorKey(), ['rp-vendor@127.0.0.1', `echo PWNED; touch ${marker}`]);
      expect(exec.code).not.toBe(0);
      expect(exec.out).toContain('This service allows sftp connections only.');
      expect(exec.out).not.toContain('PWNED');
      const shell = await ssh(vendorKey(), ['-T', 'rp-vendor@127.0.0.1']);
      expect(shell.code).not.toBe(0);
      expect(shell.out).toContain('This service allows sftp connections only.');
      const tty = await ssh(vendorKey(), ['-tt', 'rp-vendor@127.0.0.1']);
      expect(tty.out).toContain('PTY allocation request failed');
      await expect(stat(join(root, marker))).rejects.toThrow(/ENOENT/);
    });

    it('the vendor cannot write outside upload/ (the chroot root), nor make links', async () => {
      const res = await sftp(vendorKey(), 'rp-vendor', ['-put day.zip /day.zip', '-mkdir /evil', '-put day.zip ../day2.zip', '-symlink day.zip link', '-rename day.zip /moved.zip', 'ls -a /']);
      expect(res.out).toMatch(/dest open "\/day\.zip": Permission denied/);
      expect(res.out).toMatch(/remote mkdir "\/evil": Permission denied/);
      expect(res.out).toMatch(/dest open "\/upload\/\.\.\/day2\.zip": Permission denied/);
      expect(res.out).toMatch(/remote symlink .*: Permission denied/);
      expect(res.out).toMatch(/rename .*\/moved\.zip.*: Permission denied/i);
      expect((await readdir(join(root, 'srv/rp-inbox'))).sort()).toEqual(['upload']);
      expect((await readdir(join(root, 'srv/rp-inbox/upload'))).sort()).toEqual(['day.zip', 'day.zip.sha256']);
    });

    it('the vendor can forward nothing (local, stdio or remote) and its key works only from its sources', async () => {
      const stdio = await ssh(vendorKey(), ['-W', `127.0.0.1:${port}`, 'rp-vendor@127.0.0.1']);
      expect(stdio.code).not.toBe(0);
      expect(stdio.out).toContain('stdio forwarding failed');
      const remote = await ssh(vendorKey(), ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `127.0.0.1:${await freePort()}:127.0.0.1:${port}`, 'rp-vendor@127.0.0.1']);
      expect(remote.code).not.toBe(0);
      expect(remote.out).toContain('remote port forwarding failed');
      expect(sshdLog).toMatch(/refused local port forward/);
      // Same key, another source address: from="127.0.0.1" refuses it.
      const elsewhere = await ssh(vendorKey(), ['-b', '127.0.0.2', 'rp-vendor@127.0.0.1']);
      expect(elsewhere.code).toBe(255);
      expect(elsewhere.out).toContain('Permission denied (publickey)');
    });

    it("the proxy's collector account, with the credential the role installed, lists, reads and deletes the upload", async () => {
      const res = await sftp(join(root, 'etc/retention-proxy/credentials/sftp-key'), 'rp-collect', ['ls -1 /upload', 'get /upload/day.zip got.zip', 'rm /upload/day.zip', 'rm /upload/day.zip.sha256']);
      expect(res.code, `${res.out}\n${sshdLog.slice(-2000)}`).toBe(0);
      expect(res.out).toMatch(/day\.zip\.sha256/);
      expect(await readFile(join(work, 'got.zip'), 'utf8')).toBe('archive bytes');
      expect(await readdir(join(root, 'srv/rp-inbox/upload'))).toEqual([]);
    });

    it('an administrator still logs in with a key and gets a shell', async () => {
      const res = await ssh(join(work, 'admin_key'), ['admin@127.0.0.1', 'echo "shell=$0 user=$(id -un)"']);
      expect(res.code, `${res.out}\n${sshdLog.slice(-2000)}`).toBe(0);
      expect(res.out).toContain('shell=bash user=admin');
    });
  });

  it('a drop-in sshd does not apply as written is taken back: the previous one is restored and the play stops', async () => {
    const dropin = join(root, 'etc/ssh/sshd_config.d/60-rp-inbox.conf');
    const conflict = join(root, 'etc/ssh/sshd_config.d/10-conflict.conf');
    const installed = await readFile(dropin, 'utf8');
    const previous = `${installed}# the previous version\n`;
    await writeFile(dropin, previous);
    // An earlier file gives the vendor account another ForceCommand: sshd -t accepts it, sshd -T shows it wins.
    await writeFile(conflict, 'Match User rp-vendor\n\tForceCommand /bin/sh\n');
    try {
      await writeFile(join(work, 'sshd-only.yml'), `- name: The drop-in tasks alone
  hosts: retention_proxy
  gather_facts: false
  become: true
  vars:
    rp_inbox_systemd_running: false
  tasks:
    - name: Sshd drop-in
      ansible.builtin.include_role: { name: sftp_inbox, tasks_from: sshd.yml }
`);
      const res = await run(tools.playbook, ['-i', join(work, 'inventory.yml'), join(work, 'sshd-only.yml'), '-e', `@${join(work, 'vars.json')}`], { cwd: ANSIBLE_DIR, env, timeoutMs: 120_000 });
      expect(res.code, res.out.slice(-3000)).not.toBe(0);
      expect(res.out).toContain('The inbox drop-in was refused and taken back');
      expect(res.out).toMatch(/forcecommand internal-sftp/);
      expect(await readFile(dropin, 'utf8')).toBe(previous);
    } finally {
      await rm(conflict, { force: true });
      await writeFile(dropin, installed);
    }
  });

  it('a second run of the play changes nothing', async () => {
    const again = await playbook();
    expect(again.code, again.out.slice(-4000)).toBe(0);
    expect(again.out, again.out.slice(-4000)).toMatch(/inbox-chroot\s+: ok=\d+\s+changed=0 /);
  });
});
