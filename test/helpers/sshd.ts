/**
 * Test harness: a real OpenSSH sshd on a free loopback port, serving SFTP only (internal-sftp), key auth only,
 * with its own host key. Works as root (CI) and as an ordinary user (then it only accepts that user).
 *
 * Paths: internal-sftp starts in `root` (`-d root`), so relative paths ('.', 'file.zip') resolve there. There is no
 * chroot (that needs root and a root-owned path chain), so an absolute remote path is a real local path: use
 * relative paths, or `${root}/file` for absolute ones.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';
const START_TIMEOUT_MS = 15_000;
const STDERR_KEEP = 64 * 1024;

export interface SshdHandle {
  host: '127.0.0.1';
  port: number;
  username: string;
  /** Client key (ed25519, OpenSSH format) authorized for username. */
  privateKey: string;
  /** 'SHA256:...' of the server's ed25519 host key (from `ssh-keygen -lf`). */
  hostKeyFingerprint: string;
  /** The SFTP start directory (see the module comment about absolute paths). */
  root: string;
  /** The sshd listener's pid (benchmarks pin it to a core with `taskset`; its per-connection children inherit that). */
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when something on the port sends an SSH banner; rejects on refusal/timeout. */
function bannerArrives(port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let seen = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no SSH banner'));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (seen.includes('SSH-2.0-')) {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function generateKey(path: string, comment: string): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

function configText(dir: string, root: string, port: number, username: string, isRoot: boolean): string {
  const q = (p: string): string => `"${p}"`;
  return [
    `ListenAddress 127.0.0.1`,
    `Port ${port}`,
    `HostKey ${q(join(dir, 'host_ed25519'))}`,
    `PidFile ${q(join(dir, 'sshd.pid'))}`,
    `AuthorizedKeysFile ${q(join(dir, 'authorized_keys'))}`,
    `AllowUsers ${username}`,
    `PubkeyAuthentication yes`,
    `PasswordAuthentication no`,
    `KbdInteractiveAuthentication no`,
    `HostbasedAuthentication no`,
    `PermitRootLogin ${isRoot ? 'prohibit-password' : 'no'}`,
    `UsePAM no`,
    `StrictModes no`,
    `DisableForwarding yes`,
    `Compression no`,
    `MaxStartups 64`,
    `MaxSessions 64`,
    `LogLevel ERROR`,
    // internal-sftp takes its arguments unquoted (quotes would become part of the path).
    `Subsystem sftp internal-sftp -d ${root}`,
    `ForceCommand internal-sftp -d ${root}`,
    '',
  ].join('\n');
}

/**
 * Starts sshd; fails loudly with sshd's stderr when it does not come up. `clientPrivateKey`: authorize this client key
 * (OpenSSH format, no passphrase) instead of a new one, e.g. two servers one client logs in to with the same key;
 * `extraAuthorizedKeys`: further OpenSSH public keys let in as the same user (e.g. the vendor's, pushing into an inbox).
 */
export async function startSshd(options?: { root?: string; clientPrivateKey?: string; extraAuthorizedKeys?: string[] }): Promise<SshdHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-sshd-'));
  const root = options?.root ?? join(dir, 'root');
  if (/\s|%/.test(root)) throw new Error(`sshd root must not contain blanks or '%': ${root}`);
  await mkdir(root, { recursive: true });
  const username = userInfo().username;
  const isRoot = process.getuid?.() === 0;
  if (isRoot) await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory

  await generateKey(join(dir, 'host_ed25519'), 'retention-proxy-test-host');
  if (options?.clientPrivateKey) {
    await writeFile(join(dir, 'client_ed25519'), options.clientPrivateKey, { mode: 0o600 });
    const { stdout: pub } = await run('ssh-keygen', ['-y', '-f', join(dir, 'client_ed25519')]);
    await writeFile(join(dir, 'client_ed25519.pub'), pub);
  } else {
    await generateKey(join(dir, 'client_ed25519'), 'retention-proxy-test-client');
  }
  const extra = (options?.extraAuthorizedKeys ?? []).map((k) => `${k.trim()}\n`).join('');
  await writeFile(join(dir, 'authorized_keys'), `${(await readFile(join(dir, 'client_ed25519.pub'), 'utf8')).trim()}\n${extra}`);
  await chmod(join(dir, 'authorized_keys'), 0o600);
  const privateKey = await readFile(join(dir, 'client_ed25519'), 'utf8');
  const { stdout: fpLine } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host_ed25519.pub')]);
  const hostKeyFingerprint = fpLine.split(/\s+/)[1] ?? '';
  if (!hostKeyFingerprint.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -lf output: ${fpLine}`);

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    await writeFile(join(dir, 'sshd_config'), configText(dir, root, port, username, isRoot), { mode: 0o600 });
    const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
    });
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = `sshd exited (code ${String(code)}, signal ${String(signal)})`;
    });
    child.once('error', (err) => {
      exited = `sshd could not be spawned: ${err.message}`;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (exited === undefined && Date.now() < deadline) {
      try {
        await bannerArrives(port, 2_000);
        return makeHandle({ child, dir, root, port, username, privateKey, hostKeyFingerprint });
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await killAndWait(child);
    lastError = new Error(`sshd did not start on 127.0.0.1:${port}: ${exited ?? 'no banner in time'}\n--- sshd stderr ---\n${stderr}`);
    if (!/Address already in use|Cannot bind/i.test(stderr)) break;
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError ?? new Error('sshd did not start');
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function makeHandle(s: {
  child: ChildProcess; dir: string; root: string; port: number; username: string;
  privateKey: string; hostKeyFingerprint: string;
}): SshdHandle {
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port: s.port,
    username: s.username,
    privateKey: s.privateKey,
    hostKeyFingerprint: s.hostKeyFingerprint,
    root: s.root,
    pid: s.child.pid ?? -1,
    stop() {
      stopped ??= (async () => {
        await killAndWait(s.child);
        // The served root lives inside the temp dir only when we created it; a caller's root is left alone.
        await rm(s.dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
