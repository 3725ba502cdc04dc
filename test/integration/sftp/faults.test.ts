import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultySftpServer, type FaultySftpServer } from '../../helpers/faulty-sftp-server.js';
import { openSftp, type SftpSession } from '../../../proxy/sftp/connect.js';
import type { DownloadOptions, DownloadResult } from '../../../proxy/sftp/download.js';
import { codeOfRejection, silentLog, writeRandom } from './files.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const SIZE = 4 * MIB + 777;

describe('download under injected faults (ssh2 test server)', () => {
  let server: FaultySftpServer;
  let dir: string;
  let source: { data: Buffer; sha256: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rp-sftp-faults-'));
    const root = join(dir, 'remote');
    await mkdir(root);
    source = await writeRandom(join(root, 'file.bin'), SIZE);
    server = await startFaultySftpServer({ root });
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function download(finalPath: string, extra: Partial<DownloadOptions>): Promise<DownloadResult> {
    const session: SftpSession = await openSftp(
      { host: server.host, port: server.port, username: server.username, privateKey: server.privateKey, hostKeyFingerprint: server.hostKeyFingerprint },
      silentLog,
    );
    try {
      return await session.download({
        remotePath: 'file.bin', partPath: `${finalPath}.part`, finalPath, expectedSize: SIZE, resumeFrom: 0,
        chunkSize: 16 * KIB, concurrency: 8, persistEveryBytes: 256 * KIB, ...extra,
      });
    } finally {
      await session.close();
    }
  }

  it('connection drop -> SFTP_TRANSFER_FAILED; a second call from the last checkpoint completes the file exactly', async () => {
    const finalPath = join(dir, 'dropped.bin');
    let lastMark = 0;
    server.faults = { dropAfterBytes: 1_500_000 };
    const code = await codeOfRejection(() =>
      download(finalPath, {
        onCheckpoint: (mark) => {
          lastMark = mark;
          return Promise.resolve();
        },
      }),
    );
    expect(code).toBe('SFTP_TRANSFER_FAILED');
    expect(lastMark).toBeGreaterThan(0);
    expect(lastMark).toBeLessThanOrEqual(1_500_000);
    expect(existsSync(finalPath)).toBe(false);

    server.faults = {};
    let received = 0;
    const result = await download(finalPath, { resumeFrom: lastMark, onProgress: (b) => { received = b; } });
    expect(result).toEqual({ bytes: SIZE, sha256: source.sha256, resumedFrom: lastMark });
    expect(received).toBe(SIZE - lastMark);
    expect((await readFile(finalPath)).equals(source.data)).toBe(true);
  });

  it('stall -> SFTP_TIMEOUT after stallTimeoutMs; resuming from the last checkpoint completes the file exactly', async () => {
    const finalPath = join(dir, 'stalled.bin');
    let lastMark = 0;
    server.faults = { stallAfterBytes: 2 * MIB };
    const started = Date.now();
    const code = await codeOfRejection(() =>
      download(finalPath, {
        stallTimeoutMs: 400,
        onCheckpoint: (mark) => {
          lastMark = mark;
          return Promise.resolve();
        },
      }),
    );
    expect(code).toBe('SFTP_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(lastMark).toBeGreaterThan(0);

    server.faults = {};
    const result = await download(finalPath, { resumeFrom: lastMark });
    expect(result.sha256).toBe(source.sha256);
    expect((await readFile(finalPath)).equals(source.data)).toBe(true);
  });

  it('short reads are completed by re-requesting the remainder', async () => {
    const finalPath = join(dir, 'short.bin');
    server.faults = { shortReads: true };
    const readsBefore = server.readsAnswered;
    const result = await download(finalPath, {});
    const chunks = Math.ceil(SIZE / (16 * KIB));
    expect(server.readsAnswered - readsBefore).toBeGreaterThanOrEqual(chunks * 2);
    expect(result.sha256).toBe(source.sha256);
    expect((await readFile(finalPath)).equals(source.data)).toBe(true);
    server.faults = {};
  });

  it('EOF before the expected size -> DOWNLOAD_SIZE_MISMATCH, no final file', async () => {
    const finalPath = join(dir, 'eof.bin');
    server.faults = { eofAtOffset: MIB };
    expect(await codeOfRejection(() => download(finalPath, {}))).toBe('DOWNLOAD_SIZE_MISMATCH');
    expect(existsSync(finalPath)).toBe(false);
    server.faults = {};
  });

  it('a slow checkpoint callback is awaited and not mistaken for a server stall', async () => {
    const finalPath = join(dir, 'slow-checkpoint.bin');
    server.faults = {};
    const marks: number[] = [];
    const result = await download(finalPath, {
      stallTimeoutMs: 200,
      persistEveryBytes: 2 * MIB,
      onCheckpoint: async (mark) => {
        await new Promise((r) => setTimeout(r, 500));
        marks.push(mark);
      },
    });
    expect(result.sha256).toBe(source.sha256);
    expect(marks.length).toBeGreaterThanOrEqual(1);
  });

  it('connection drop with no checkpoint callback still fails cleanly and a fresh call succeeds', async () => {
    const finalPath = join(dir, 'dropped-fresh.bin');
    server.faults = { dropAfterBytes: 300_000 };
    expect(await codeOfRejection(() => download(finalPath, {}))).toBe('SFTP_TRANSFER_FAILED');
    server.faults = {};
    const result = await download(finalPath, {});
    expect(result.sha256).toBe(source.sha256);
  });
});
