import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { CycleSummary } from '../../proxy/pipeline/sync-cycle.js';
import type { BackupLogRow } from '../../proxy/vendor-sim/types.js';
import { generateEd25519KeyPair } from '../../proxy/vendor-sim/sftp/host-key.js';
import { CLI, cleanEnv, jsonLines, runCli } from '../helpers/cli.js';
import { freePort, startSshd, type SshdHandle } from '../helpers/sshd.js';

const ARCHIVE_KEY = 'Inbox-Archive-Key-7';
const SECRET = 'inbox-push-signing-secret';

/**
 * The inbox layout end to end with the built CLI: `vendor-sim --push-to` uploads the day's archive into the customer's
 * SFTP server (a loopback OpenSSH sshd standing in for the proxy VM's inbox) with the vendor's own key, and
 * `sync --once` collects it from there, imports it, reports "Data Downloaded" and then removes it from the inbox.
 */
describe('vendor simulator push mode and sync --once from the inbox', () => {
  let inbox: SshdHandle;
  let sim: ChildProcess | undefined;
  let dir: string;
  let httpPort: number;
  let pushed: string[] = [];

  beforeAll(async () => {
    const vendor = generateEd25519KeyPair();
    inbox = await startSshd({ extraAuthorizedKeys: [vendor.public] });
    dir = await mkdtemp(join(tmpdir(), 'rp-e2e-inbox-'));
    await writeFile(join(dir, 'vendor_ed25519'), vendor.private, { mode: 0o600 });
    await writeFile(join(dir, 'vendor_ed25519.pub'), vendor.public);
    httpPort = await freePort();
    await mkdir(join(dir, 'vendor'));
    const child = spawn(process.execPath, [
      CLI, 'vendor-sim', '--data-dir', join(dir, 'vendor'), '--authorized-key', join(dir, 'vendor_ed25519.pub'),
      '--archive-key', ARCHIVE_KEY, '--signing-secret', SECRET, '--sftp-port', String(await freePort()), '--http-port', String(httpPort),
      '--days', '1', '--records', '200', '--media-bytes', '65536',
      '--push-to', `127.0.0.1:${inbox.port}`, '--push-user', inbox.username, '--push-key', join(dir, 'vendor_ed25519'),
      '--push-host-key', inbox.hostKeyFingerprint, '--push-dir', '.',
    ], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    sim = child;
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`vendor-sim did not get ready:\n${stderr.slice(-3000)}`)), 60_000);
      const onLine = jsonLines((line) => {
        if (line.msg === 'published' && typeof line.fileName === 'string') pushed.push(line.fileName);
        if (typeof line.msg === 'string' && line.msg.startsWith('vendor simulator ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        onLine(d);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`vendor-sim exited (${String(code)}):\n${stderr.slice(-3000)}`));
      });
    });
  });
  afterAll(async () => {
    if (sim && sim.exitCode === null) {
      const exited = new Promise((r) => sim?.once('exit', r));
      sim.kill('SIGTERM');
      await exited;
    }
    await inbox?.stop();
    const client = await MongoClient.connect(inject('mongoUri'));
    await client.db('e2e_inbox_push').dropDatabase().finally(() => client.close());
    if (dir) await rm(dir, { recursive: true, force: true });
    pushed = [];
  });

  it('the pushed archive is imported, reported "Data Downloaded", then removed from the inbox', async () => {
    expect(pushed).toHaveLength(1);
    const fileName = pushed[0] ?? '';
    expect((await readdir(inbox.root)).sort()).toEqual([fileName, `${fileName}.sha256`]);

    await writeFile(join(dir, 'archive.key'), `${ARCHIVE_KEY}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'proxy_ed25519'), inbox.privateKey, { mode: 0o600 });
    const configPath = join(dir, 'config.yaml');
    await writeFile(configPath, `siteId: e2e-inbox
sftp:
  host: 127.0.0.1
  port: ${inbox.port}
  username: ${inbox.username}
  privateKeyFile: ${join(dir, 'proxy_ed25519')}
  hostKeyFingerprint: "${inbox.hostKeyFingerprint}"
  remoteDir: .
  settleSeconds: 0.2
  deleteAfterDownloaded: true
archive:
  keyFile: ${join(dir, 'archive.key')}
mongodb:
  uri: "${inject('mongoUri')}"
  database: e2e_inbox_push
  allowSingleNode: true
vendor:
  statusUrl: http://127.0.0.1:${httpPort}/retention/v1/status
  signingSecret: ${SECRET}
staging:
  dir: ${join(dir, 'staging')}
  minFreeBytes: 0
integrity:
  enabled: false
`, { mode: 0o600 });

    const res = await runCli(['sync', '--once', '--json', '--config', configPath]);
    expect(res.code, res.stdout + res.stderr.slice(-3000)).toBe(0);
    const summary = JSON.parse(res.stdout) as CycleSummary;
    expect(summary.archives).toEqual([{ fileName, state: 'reported' }]);
    const log = await (await fetch(`http://127.0.0.1:${httpPort}/api/backup-log`)).json() as { rows: BackupLogRow[] };
    expect(log.rows.find((r) => r.fileName === fileName && r.siteId === 'e2e-inbox')?.statusText).toBe('Data Downloaded');
    // Removed only after "Data Downloaded" was delivered: the inbox is empty again.
    expect(await readdir(inbox.root)).toEqual([]);
    expect(res.logs.some((l) => l.msg === 'archive removed from the SFTP server after "Data Downloaded" was delivered')).toBe(true);
  });
});
