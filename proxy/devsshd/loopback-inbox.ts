import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { ProxyError } from '../errors.js';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';

/**
 * The demo's inbox layout: OpenSSH's sshd on a free 127.0.0.1 port, as the current user (never root; no chroot: that
 * is the Ansible role's job on a real VM), SFTP only, key logins only, serving `root`. Two keys are let in: the vendor's
 * (it uploads) and the proxy's (it collects and removes).
 */
export interface LoopbackInbox {
  host: '127.0.0.1';
  port: number;
  username: string;
  hostKeyFingerprint: string;
  /** Private keys (OpenSSH format). */
  vendorKey: string;
  proxyKey: string;
  /** The served directory: remote paths are relative to it ('.'). */
  root: string;
  stop(): Promise<void>;
}

async function keygen(path: string, comment: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.pub`, { force: true });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('SSH-')));
    socket.once('error', () => done(false));
  });
}

/**
 * USAGE as root: the inbox logs its keys in as the current user without a chroot, so the vendor's key would read and
 * write the whole filesystem as root. A real inbox (chrooted accounts) is the Ansible role's job.
 */
export function refuseRootInbox(uid: number | undefined = process.getuid?.()): void {
  if (uid === 0) {
    throw new ProxyError('USAGE', 'demo --layout inbox does not run as root: its sshd logs the vendor\'s and the proxy\'s keys in as the ' +
      'current user without a chroot (as root: the whole filesystem). Run it as an ordinary user; a real inbox is the sftp_inbox Ansible role');
  }
}

/** Starts the inbox sshd under `dir` (keys, config) serving `dir/upload`; SFTP_CONNECT_FAILED when it does not come up. */
export async function startLoopbackInbox(dir: string, log: Logger, uid: number | undefined = process.getuid?.()): Promise<LoopbackInbox> {
  refuseRootInbox(uid);
  const root = join(dir, 'upload');
  if (/\s|%/.test(root)) throw new ProxyError('USAGE', `the demo directory must not contain blanks or '%': ${dir}`);
  await mkdir(root, { recursive: true });
  for (const [name, comment] of [['host_ed25519', 'demo-inbox-host'], ['vendor_ed25519', 'demo-vendor'], ['proxy_ed25519', 'demo-proxy']] as const) await keygen(join(dir, name), comment);
  const pub = async (name: string): Promise<string> => (await readFile(join(dir, `${name}.pub`), 'utf8')).trim();
  await writeFile(join(dir, 'authorized_keys'), `${await pub('vendor_ed25519')}\n${await pub('proxy_ed25519')}\n`, { mode: 0o600 });
  await chmod(join(dir, 'authorized_keys'), 0o600);
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host_ed25519.pub')]);
  const hostKeyFingerprint = stdout.split(/\s+/)[1] ?? '';
  const username = userInfo().username;
  const port = await freePort();
  const q = (p: string): string => `"${p}"`;
  await writeFile(join(dir, 'sshd_config'), [
    'ListenAddress 127.0.0.1', `Port ${port}`, `HostKey ${q(join(dir, 'host_ed25519'))}`, `PidFile ${q(join(dir, 'sshd.pid'))}`,
    `AuthorizedKeysFile ${q(join(dir, 'authorized_keys'))}`, `AllowUsers ${username}`, 'PubkeyAuthentication yes',
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PermitRootLogin no',
    'UsePAM no', 'StrictModes no', 'DisableForwarding yes', 'PermitTTY no', 'LogLevel ERROR',
    `Subsystem sftp internal-sftp -d ${root}`, `ForceCommand internal-sftp -d ${root}`, '',
  ].join('\n'), { mode: 0o600 });

  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8192)));
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', (err) => {
    exited = true;
    stderr += err.message;
  });
  const stop = async (): Promise<void> => {
    if (exited) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  };
  const deadline = Date.now() + 15_000;
  while (!(await banner(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new ProxyError('SFTP_CONNECT_FAILED', `the demo inbox (${SSHD} on 127.0.0.1:${port}) did not start: ${stderr.trim() || 'no banner'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log.info({ port, root, hostKeyFingerprint }, 'demo inbox sshd started');
  return {
    host: '127.0.0.1', port, username, hostKeyFingerprint, root,
    vendorKey: await readFile(join(dir, 'vendor_ed25519'), 'utf8'),
    proxyKey: await readFile(join(dir, 'proxy_ed25519'), 'utf8'),
    stop,
  };
}
