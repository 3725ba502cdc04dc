/**
 * SFTP download throughput: our `download` vs OpenSSH's `sftp` client, same sshd, same cipher pinned on both sides,
 * best of 3, fresh destination each run, each run starting with recycled page-cache memory (page-cache.ts). Ours is
 * measured as production runs it, in a fresh Node process like the peer's (sftp-child.ts): connect, download with
 * checkpoints (fdatasync every 8 MiB), fsync, rename, fsync dir, close.
 */
import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startSshd, type SshdHandle } from '../test/helpers/sshd.js';
import { runChildJob } from './child-job.js';
import { recyclePageCache } from './page-cache.js';
import type { SftpChildJob, SftpChildResult } from './sftp-child.js';
import { load1 } from './quiet.js';
import type { BenchContext, BenchRow } from './types.js';


const run = promisify(execFile);
const MIB = 1024 * 1024;
const CIPHER = 'aes128-gcm@openssh.com';
const RUNS = 3;
const CONCURRENCY = 64;

async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'w');
  try {
    const block = Buffer.allocUnsafe(4 * MIB);
    for (let done = 0; done < size; ) {
      const n = Math.min(block.length, size - done);
      randomFillSync(block, 0, n);
      hash.update(block.subarray(0, n));
      await file.write(block, 0, n);
      done += n;
    }
    await file.sync(); // on disk before the first timed run, not being written back during it
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/** Where each side runs: `client` is the core of the downloading process (ours, or `sftp` and `sha256sum`); unset = anywhere. */
interface Pinning { client?: number }

const pinned = (pin: Pinning, cmd: string, args: string[]): [string, string[]] =>
  pin.client === undefined ? [cmd, args] : ['taskset', ['-c', String(pin.client), cmd, ...args]];

async function timeOurs(sshd: SshdHandle, keyPath: string, name: string, size: number, dest: string, pin: Pinning): Promise<SftpChildResult> {
  await rm(dest, { force: true });
  await rm(`${dest}.part`, { force: true });
  await recyclePageCache(dirname(dest), size);
  const job: SftpChildJob = {
    host: sshd.host, port: sshd.port, username: sshd.username, privateKeyPath: keyPath, hostKeyFingerprint: sshd.hostKeyFingerprint,
    cipher: CIPHER, remotePath: name, size, dest, concurrency: CONCURRENCY,
  };
  return runChildJob<SftpChildResult>('sftp-child.js', job, pin.client);
}

/** OpenSSH `sftp get`, then (the same guarantee as ours) `sha256sum` of what it wrote: seconds of each. */
async function timePeer(sshd: SshdHandle, keyPath: string, batchPath: string, name: string, size: number, dest: string, pin: Pinning): Promise<{ sftp: number; sha: number; sha256: string }> {
  await rm(dest, { force: true });
  await recyclePageCache(dirname(dest), size);
  await writeFile(batchPath, `get ${name} ${dest}\n`);
  const started = process.hrtime.bigint();
  await run(...pinned(pin, 'sftp', [
    '-q', '-b', batchPath, '-i', keyPath, '-P', String(sshd.port),
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
    '-o', `Ciphers=${CIPHER}`, `${sshd.username}@127.0.0.1`,
  ]));
  const fetched = process.hrtime.bigint();
  const { stdout } = await run(...pinned(pin, 'sha256sum', [dest]));
  const done = process.hrtime.bigint();
  return { sftp: Number(fetched - started) / 1e9, sha: Number(done - fetched) / 1e9, sha256: stdout.slice(0, 64) };
}

interface Best { ours: number; sftp: number; sftpSha: number; chunkSize: number; loads: number[] }

async function measure(ctx: BenchContext, sshd: SshdHandle, keyPath: string, local: string, name: string, size: number, sourceSha: string, pin: Pinning, label: string): Promise<Best> {
  const best: Best = { ours: Infinity, sftp: Infinity, sftpSha: Infinity, chunkSize: 0, loads: [load1()] };
  for (let i = 0; i < RUNS; i++) {
    const ours = await timeOurs(sshd, keyPath, name, size, join(local, 'ours.bin'), pin);
    if (ours.sha256 !== sourceSha) throw new Error('sftp bench: our download does not match the source');
    best.chunkSize = ours.chunkSize;
    const peerDest = join(local, 'peer.bin');
    const peer = await timePeer(sshd, keyPath, join(ctx.workDir, 'sftp-batch'), name, size, peerDest, pin);
    if ((await stat(peerDest)).size !== size || peer.sha256 !== sourceSha) throw new Error('sftp bench: OpenSSH sftp did not fetch the whole file');
    best.ours = Math.min(best.ours, ours.seconds);
    best.sftp = Math.min(best.sftp, peer.sftp);
    best.sftpSha = Math.min(best.sftpSha, peer.sftp + peer.sha);
    best.loads.push(load1());
    ctx.log(`sftp${label}: run ${i + 1}: ours ${ours.seconds.toFixed(2)} s, OpenSSH sftp ${peer.sftp.toFixed(2)} s + sha256sum ${peer.sha.toFixed(2)} s (load ${load1()})`);
  }
  return best;
}

export async function benchSftp(ctx: BenchContext): Promise<BenchRow[]> {
  const size = Math.max(MIB, Math.round(1024 * MIB * ctx.scale));
  const root = join(ctx.workDir, 'sftp-root');
  const local = join(ctx.workDir, 'sftp-local');
  await mkdir(root, { recursive: true });
  await mkdir(local, { recursive: true });
  const name = 'bench.bin';
  ctx.log(`sftp: writing ${Math.round(size / MIB)} MiB of random data`);
  const sourceSha = await writeRandomFile(join(root, name), size);
  const sshd = await startSshd({ root });
  try {
    const keyPath = join(ctx.workDir, 'sftp-client-key');
    await writeFile(keyPath, sshd.privateKey, { mode: 0o600 });
    const free = await measure(ctx, sshd, keyPath, local, name, size, sourceSha, {}, '');
    // The customer's VM: the server is across the tunnel, both cores are the client's. Server on core 0, client on 1.
    await run('taskset', ['-a', '-p', '-c', '0', String(sshd.pid)]);
    const pin = await measure(ctx, sshd, keyPath, local, name, size, sourceSha, { client: 1 }, ' (pinned)');
    await rm(local, { recursive: true, force: true });
    const mib = size / MIB;
    const rate = (s: number): string => `${(mib / s).toFixed(0)} MiB/s`;
    const load = (b: Best): string => `load ${Math.min(...b.loads)}-${Math.max(...b.loads)}`;
    const raw = (b: Best): Record<string, number | string> => ({
      bytes: size, cipher: CIPHER, chunkSize: b.chunkSize, concurrency: CONCURRENCY, runs: RUNS, oursSeconds: b.ours, sftpSeconds: b.sftp,
      sftpSha256sumSeconds: b.sftpSha, loadMin: Math.min(...b.loads), loadMax: Math.max(...b.loads),
    });
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    return [
      {
        group: 'sftp', name: `download ${Math.round(mib)} MiB (${CIPHER}, ${free.chunkSize} B x ${CONCURRENCY} reads; ${load(free)})`,
        ours: `${rate(free.ours)} (SHA-256 while downloading)`, peer: `${rate(free.sftp)} (OpenSSH sftp, no hash)`,
        ratio: r2(free.sftp / free.ours), target: '>= 1.0x', pass: free.sftp / free.ours >= 1.0, raw: raw(free),
      },
      {
        group: 'sftp', name: `download + SHA-256, ${Math.round(mib)} MiB (${load(free)})`,
        ours: rate(free.ours), peer: `${rate(free.sftpSha)} (sftp get, then sha256sum)`,
        ratio: r2(free.sftpSha / free.ours), target: '>= 1.2x', pass: free.sftpSha / free.ours >= 1.2, raw: raw(free),
      },
      {
        group: 'sftp', name: `download + SHA-256, sshd pinned to core 0, client to core 1 (${load(pin)})`,
        ours: rate(pin.ours), peer: `${rate(pin.sftpSha)} (sftp get, then sha256sum; sftp alone ${rate(pin.sftp)})`,
        ratio: r2(pin.sftpSha / pin.ours), target: '>= 1.2x', pass: pin.sftpSha / pin.ours >= 1.2, raw: raw(pin),
      },
    ];
  } finally {
    await sshd.stop();
  }
}
