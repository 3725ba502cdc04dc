import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSshd, type SshdHandle } from '../../helpers/sshd.js';
import { openSftp, type SftpSession, type SftpTarget } from '../../../proxy/sftp/connect.js';
import { fingerprintOf } from '../../../proxy/sftp/host-key.js';
import { codeOfRejection, sha256File, silentLog, writeRandom } from './files.js';
import { generateEd25519KeyPair } from '../../../proxy/vendor-sim/sftp/host-key.js';

const run = promisify(execFile);

/** Runs `fn` with the port of a loopback listener and returns how many connections reached it (late ones included). */
async function connectionsDuring(fn: (port: number) => Promise<void>): Promise<number> {
  let accepted = 0;
  const probe: Server = createServer((sock: Socket) => {
    accepted++;
    sock.destroy();
  });
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const address = probe.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    await fn(port);
    await new Promise((r) => setTimeout(r, 100));
    return accepted;
  } finally {
    await new Promise<void>((r) => probe.close(() => r()));
  }
}

const MIB = 1024 * 1024;

describe('SFTP client against OpenSSH sshd', () => {
  let sshd: SshdHandle;
  let local: string;
  let target: SftpTarget;
  let big: { data: Buffer; sha256: string };
  const BIG_SIZE = 20 * MIB + 12_345; // not a multiple of any chunk size

  beforeAll(async () => {
    sshd = await startSshd();
    local = await mkdtemp(join(tmpdir(), 'rp-sftp-local-'));
    target = {
      host: sshd.host, port: sshd.port, username: sshd.username,
      privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint,
    };
    big = await writeRandom(join(sshd.root, 'big.bin'), BIG_SIZE);
    await writeFile(join(sshd.root, 'big.bin.sha256'), `${big.sha256}  big.bin\n`);
    await mkdir(join(sshd.root, 'a-directory'));
    await symlink(join(sshd.root, 'big.bin'), join(sshd.root, 'a-symlink.bin'));
  });

  afterAll(async () => {
    await sshd?.stop();
    if (local) await rm(local, { recursive: true, force: true });
  });

  async function withSession<T>(fn: (s: SftpSession) => Promise<T>): Promise<T> {
    const session = await openSftp(target, silentLog);
    try {
      return await fn(session);
    } finally {
      await session.close();
    }
  }

  describe('connecting', () => {
    it('connects with the right pin and reports the fingerprint the server presented', async () => {
      const presented = await withSession((s) => Promise.resolve(s.hostKeyFingerprint));
      expect(presented).toBe(sshd.hostKeyFingerprint);
    });

    it('accepts the pin without base64 padding ("=" appended still matches)', async () => {
      const session = await openSftp({ ...target, hostKeyFingerprint: `${sshd.hostKeyFingerprint}=` }, silentLog);
      await session.close();
    });

    it('refuses a wrong pin with SFTP_HOST_KEY_MISMATCH naming both fingerprints', async () => {
      const wrong = fingerprintOf(Buffer.from('not the server key'));
      const err = await openSftp({ ...target, hostKeyFingerprint: wrong }, silentLog).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string; details: Record<string, unknown> },
      );
      expect(err?.code).toBe('SFTP_HOST_KEY_MISMATCH');
      expect(err?.message).toContain(wrong);
      expect(err?.message).toContain(sshd.hostKeyFingerprint);
      expect(err?.details).toEqual({ expected: wrong, presented: sshd.hostKeyFingerprint });
    });

    it('refuses an empty pin with SFTP_HOST_KEY_NOT_PINNED without opening a connection', async () => {
      const accepted = await connectionsDuring(async (port) => {
        expect(await codeOfRejection(() => openSftp({ ...target, port, hostKeyFingerprint: '' }, silentLog))).toBe('SFTP_HOST_KEY_NOT_PINNED');
        expect(await codeOfRejection(() => openSftp({ ...target, port, hostKeyFingerprint: '  ' }, silentLog))).toBe('SFTP_HOST_KEY_NOT_PINNED');
      });
      expect(accepted).toBe(0);
    });

    it('fails with SFTP_AUTH_FAILED for a key the server does not authorize', async () => {
      const other = generateEd25519KeyPair();
      expect(await codeOfRejection(() => openSftp({ ...target, privateKey: other.private }, silentLog))).toBe('SFTP_AUTH_FAILED');
    });

    it('fails with SFTP_KEY_INVALID, before connecting, for a key that is not one or is encrypted without its passphrase', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'rp-key-'));
      try {
        await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'key-passphrase', '-f', join(dir, 'enc')]);
        const encrypted = await readFile(join(dir, 'enc'), 'utf8');
        const accepted = await connectionsDuring(async (port) => {
          expect(await codeOfRejection(() => openSftp({ ...target, port, privateKey: 'not a key' }, silentLog))).toBe('SFTP_KEY_INVALID');
          expect(await codeOfRejection(() => openSftp({ ...target, port, privateKey: encrypted }, silentLog))).toBe('SFTP_KEY_INVALID');
          expect(await codeOfRejection(() => openSftp({ ...target, port, privateKey: encrypted, passphrase: 'wrong' }, silentLog))).toBe('SFTP_KEY_INVALID');
        });
        expect(accepted).toBe(0);
        // With its passphrase the same key parses; sshd then refuses it (not authorized), which is an auth failure.
        expect(await codeOfRejection(() => openSftp({ ...target, privateKey: encrypted, passphrase: 'key-passphrase' }, silentLog))).toBe('SFTP_AUTH_FAILED');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('fails with SFTP_CONNECT_FAILED when nothing listens', async () => {
      const probe = createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      await new Promise<void>((r) => probe.close(() => r()));
      expect(await codeOfRejection(() => openSftp({ ...target, port }, silentLog))).toBe('SFTP_CONNECT_FAILED');
    });

    it('fails with SFTP_TIMEOUT when the server never completes the handshake', async () => {
      const sockets: Socket[] = [];
      const silent = createServer((sock) => sockets.push(sock)); // accepts, never speaks
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const address = silent.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      try {
        expect(await codeOfRejection(() => openSftp({ ...target, port, readyTimeoutMs: 500 }, silentLog))).toBe('SFTP_TIMEOUT');
      } finally {
        for (const sock of sockets) sock.destroy();
        await new Promise<void>((r) => silent.close(() => r()));
      }
    });
  });

  describe('listing and small files', () => {
    it('lists regular files only (no directories, no symlinks) with size and mtime', async () => {
      const files = await withSession((s) => s.list('.'));
      expect(files.map((f) => f.name)).toEqual(['big.bin', 'big.bin.sha256']);
      const bigEntry = files.find((f) => f.name === 'big.bin');
      expect(bigEntry?.size).toBe(BIG_SIZE);
      expect(bigEntry?.mtimeMs).toBeGreaterThan(Date.now() - 3_600_000);
    });

    it('lists an absolute path too, and fails with SFTP_LIST_FAILED for a missing directory', async () => {
      await withSession(async (s) => {
        expect((await s.list(sshd.root)).length).toBe(2);
        expect(await codeOfRejection(() => s.list('no-such-dir'))).toBe('SFTP_LIST_FAILED');
      });
    });

    it('stat returns the file, undefined when missing, undefined for a directory or symlink', async () => {
      await withSession(async (s) => {
        expect(await s.stat('big.bin')).toMatchObject({ name: 'big.bin', size: BIG_SIZE });
        expect(await s.stat('missing.bin')).toBeUndefined();
        expect(await s.stat('a-directory')).toBeUndefined();
        expect(await s.stat('a-symlink.bin')).toBeUndefined();
      });
    });

    it('readSmallFile returns the content, undefined when missing, SFTP_TRANSFER_FAILED when too big', async () => {
      await withSession(async (s) => {
        expect((await s.readSmallFile('big.bin.sha256', 1024))?.toString()).toBe(`${big.sha256}  big.bin\n`);
        expect(await s.readSmallFile('missing.sha256', 1024)).toBeUndefined();
        expect(await codeOfRejection(() => s.readSmallFile('big.bin.sha256', 10))).toBe('SFTP_TRANSFER_FAILED');
      });
    });
  });

  describe('download', () => {
    it('downloads a 20 MiB random file exactly, with the published checksum, and removes the part file', async () => {
      const finalPath = join(local, 'fresh.bin');
      const progress: number[] = [];
      const result = await withSession((s) =>
        s.download({
          remotePath: 'big.bin', partPath: `${finalPath}.part`, finalPath, expectedSize: BIG_SIZE, resumeFrom: 0,
          expectedSha256: big.sha256.toUpperCase(), onProgress: (b) => progress.push(b),
        }),
      );
      expect(result).toEqual({ bytes: BIG_SIZE, sha256: big.sha256, resumedFrom: 0 });
      expect(await sha256File(finalPath)).toBe(big.sha256);
      expect(existsSync(`${finalPath}.part`)).toBe(false);
      expect(progress.at(-1)).toBe(BIG_SIZE);
    });

    it('resumes: keeps the first N bytes, discards garbage beyond them, and reads only the remainder', async () => {
      const n = 7 * MIB + 4321;
      const finalPath = join(local, 'resumed.bin');
      const partPath = `${finalPath}.part`;
      await writeFile(partPath, Buffer.concat([big.data.subarray(0, n), Buffer.alloc(300_000, 0xee)]));
      let received = 0;
      const result = await withSession((s) =>
        s.download({
          remotePath: 'big.bin', partPath, finalPath, expectedSize: BIG_SIZE, resumeFrom: n, chunkSize: 64 * 1024,
          onProgress: (b) => {
            received = b;
          },
        }),
      );
      expect(result).toEqual({ bytes: BIG_SIZE, sha256: big.sha256, resumedFrom: n });
      expect(received).toBe(BIG_SIZE - n);
      expect((await readFile(finalPath)).equals(big.data)).toBe(true);
    });

    it('starts over at 0 when the part file is shorter than the resume point', async () => {
      const finalPath = join(local, 'short-part.bin');
      await writeFile(`${finalPath}.part`, big.data.subarray(0, 1000));
      const result = await withSession((s) =>
        s.download({ remotePath: 'big.bin', partPath: `${finalPath}.part`, finalPath, expectedSize: BIG_SIZE, resumeFrom: 5000 }),
      );
      expect(result.resumedFrom).toBe(0);
      expect(result.sha256).toBe(big.sha256);
    });

    it('calls onCheckpoint only for bytes already on disk, in increasing order', async () => {
      const finalPath = join(local, 'checkpointed.bin');
      const partPath = `${finalPath}.part`;
      const marks: number[] = [];
      await withSession((s) =>
        s.download({
          remotePath: 'big.bin', partPath, finalPath, expectedSize: BIG_SIZE, resumeFrom: 0, persistEveryBytes: 2 * MIB,
          // Few small reads in flight, so that several checkpoints fall within the transfer.
          concurrency: 4, chunkSize: 32 * 1024,
          onCheckpoint: async (mark) => {
            // The most recently written bytes below the mark are the ones most likely to be missing.
            const tail = Math.min(mark, 256 * 1024);
            const file = await open(partPath, 'r');
            try {
              const buf = Buffer.alloc(tail);
              const { bytesRead } = await file.read(buf, 0, tail, mark - tail);
              expect(bytesRead).toBe(tail);
              expect(buf.equals(big.data.subarray(mark - tail, mark))).toBe(true);
            } finally {
              await file.close();
            }
            marks.push(mark);
          },
        }),
      );
      expect(marks.length).toBeGreaterThanOrEqual(3);
      expect([...marks].sort((a, b) => a - b)).toEqual(marks);
      expect(new Set(marks).size).toBe(marks.length);
      for (let i = 1; i < marks.length; i++) expect(marks[i]! - marks[i - 1]!).toBeGreaterThanOrEqual(2 * MIB);
    });

    it('fails with DOWNLOAD_CHECKSUM_MISMATCH and leaves neither a final nor a part file', async () => {
      const finalPath = join(local, 'bad-sum.bin');
      const code = await codeOfRejection(() =>
        withSession((s) =>
          s.download({
            remotePath: 'big.bin', partPath: `${finalPath}.part`, finalPath, expectedSize: BIG_SIZE, resumeFrom: 0,
            expectedSha256: '0'.repeat(64),
          }),
        ),
      );
      expect(code).toBe('DOWNLOAD_CHECKSUM_MISMATCH');
      expect(existsSync(finalPath)).toBe(false);
      expect(existsSync(`${finalPath}.part`)).toBe(false);
    });

    it('fails with REMOTE_FILE_CHANGED when the remote size differs from the listing', async () => {
      const finalPath = join(local, 'changed.bin');
      const code = await codeOfRejection(() =>
        withSession((s) =>
          s.download({ remotePath: 'big.bin', partPath: `${finalPath}.part`, finalPath, expectedSize: BIG_SIZE - 1, resumeFrom: 0 }),
        ),
      );
      expect(code).toBe('REMOTE_FILE_CHANGED');
      expect(existsSync(finalPath)).toBe(false);
    });

    it('fails with REMOTE_FILE_CHANGED when the remote file vanished', async () => {
      const finalPath = join(local, 'vanished.bin');
      const code = await codeOfRejection(() =>
        withSession((s) => s.download({ remotePath: 'gone.bin', partPath: `${finalPath}.part`, finalPath, expectedSize: 10, resumeFrom: 0 })),
      );
      expect(code).toBe('REMOTE_FILE_CHANGED');
    });

    it('stops with DOWNLOAD_ABORTED when the signal fires, keeps the session usable', async () => {
      const finalPath = join(local, 'aborted.bin');
      const controller = new AbortController();
      await withSession(async (s) => {
        const code = await codeOfRejection(() =>
          s.download({
            remotePath: 'big.bin', partPath: `${finalPath}.part`, finalPath, expectedSize: BIG_SIZE, resumeFrom: 0,
            chunkSize: 32 * 1024, concurrency: 2, signal: controller.signal,
            onProgress: (b) => {
              if (b >= MIB) controller.abort();
            },
          }),
        );
        expect(code).toBe('DOWNLOAD_ABORTED');
        expect(existsSync(finalPath)).toBe(false);
        expect((await s.list('.')).length).toBe(2);
      });
      expect(await codeOfRejection(() =>
        withSession((s) => s.download({ remotePath: 'big.bin', partPath: `${finalPath}.part`, finalPath, expectedSize: BIG_SIZE, resumeFrom: 0, signal: controller.signal })),
      )).toBe('DOWNLOAD_ABORTED');
    });
  });
});
