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

async function timeOurs(sshd: SshdHandle, keyPath: string, name: string, size: number, dest: string): Promise<SftpChildResult> {
  await rm(dest, { force: true });
  await rm(`${dest}.part`, { force: true });
  await recyclePageCache(dirname(dest), size);
  const job: SftpChildJob = {
    host: sshd.host, port: sshd.port, username: sshd.username, privateKeyPath: keyPath, hostKeyFingerprint: sshd.hostKeyFingerprint,
    cipher: CIPHER, remotePath: name, size, dest, concurrency: CONCURRENCY,
  };
  return runChildJob<SftpChildResult>('sftp-child.js', job);
}

async function timePeer(sshd: SshdHandle, keyPath: string, batchPath: string, name: string, size: number, dest: string): Promise<number> {
  await rm(dest, { force: true });
  await recyclePageCache(dirname(dest), size);
  await writeFile(batchPath, `get ${name} ${dest}\n`);
  const started = process.hrtime.bigint();
  await run('sftp', [
    '-q', '-b', batchPath, '-i', keyPath, '-P', String(sshd.port),
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
    '-o', `Ciphers=${CIPHER}`, `${sshd.username}@127.0.0.1`,
  ]);
  return Number(process.hrtime.bigint() - started) / 1e9;
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
    let best = { ours: Infinity, peer: Infinity };
    let chunkSize = 0;
    for (let i = 0; i < RUNS; i++) {
      const ours = await timeOurs(sshd, keyPath, name, size, join(local, 'ours.bin'));
      if (ours.sha256 !== sourceSha) throw new Error('sftp bench: our download does not match the source');
      chunkSize = ours.chunkSize;
      const peerDest = join(local, 'peer.bin');
      const peer = await timePeer(sshd, keyPath, join(ctx.workDir, 'sftp-batch'), name, size, peerDest);
      if ((await stat(peerDest)).size !== size) throw new Error('sftp bench: OpenSSH sftp did not fetch the whole file');
      best = { ours: Math.min(best.ours, ours.seconds), peer: Math.min(best.peer, peer) };
      ctx.log(`sftp: run ${i + 1}: ours ${ours.seconds.toFixed(2)} s, OpenSSH sftp ${peer.toFixed(2)} s`);
    }
    await rm(local, { recursive: true, force: true });
    const oursMiBs = size / MIB / best.ours;
    const peerMiBs = size / MIB / best.peer;
    const ratio = Math.round((oursMiBs / peerMiBs) * 100) / 100;
    return [
      {
        group: 'sftp',
        name: `download ${Math.round(size / MIB)} MiB (${CIPHER}, ${chunkSize} B x ${CONCURRENCY} reads)`,
        ours: `${oursMiBs.toFixed(0)} MiB/s`,
        peer: `${peerMiBs.toFixed(0)} MiB/s (OpenSSH sftp)`,
        ratio,
        target: '>= 1.0x',
        pass: ratio >= 1.0,
        raw: {
          bytes: size, cipher: CIPHER, chunkSize, concurrency: CONCURRENCY, runs: RUNS,
          oursSeconds: best.ours, peerSeconds: best.peer, oursMiBs, peerMiBs,
        },
      },
    ];
  } finally {
    await sshd.stop();
  }
}
