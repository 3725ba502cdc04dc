/**
 * The threaded part-file sink and a download through it. Worker threads run the compiled JavaScript, so this test uses
 * dist/ (the integration tier builds first); the other SFTP tests cover the same contract with the in-thread sink.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as ConnectModule from '../../../proxy/sftp/connect.js';
import type * as SinkModule from '../../../proxy/sftp/part-sink.js';
import { startSshd, type SshdHandle } from '../../helpers/sshd.js';
import { silentLog, writeRandom } from './files.js';

const MIB = 1024 * 1024;
const dist = (path: string): string => new URL(`../../../dist/proxy/sftp/${path}`, import.meta.url).href;
let sink: typeof SinkModule;
let connect: typeof ConnectModule;
let local: string;
let sshd: SshdHandle;

beforeAll(async () => {
  sink = (await import(dist('part-sink.js'))) as typeof SinkModule;
  connect = (await import(dist('connect.js'))) as typeof ConnectModule;
  local = await mkdtemp(join(tmpdir(), 'rp-sink-'));
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
  if (local) await rm(local, { recursive: true, force: true });
});

function write(s: SinkModule.PartSink, buf: Buffer, position: number, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => s.write(buf, position, length, (err, back) => (err ? reject(err) : resolve(back))));
}

describe('part-file sink thread (dist)', () => {
  it('hashes the resumed prefix and the chunks in order, and writes them where asked', async () => {
    const path = join(local, 'a.part');
    const prefix = randomBytes(300_000);
    const rest = randomBytes(1_000_000);
    await writeFile(path, prefix);
    const fd = openSync(path, 'r+');
    try {
      const s = await sink.openPartSink(fd, prefix.length, { threaded: true });
      expect(s.threaded).toBe(true);
      const size = 256 * 1024;
      const pending: Promise<Buffer>[] = [];
      for (let off = 0; off < rest.length; off += size) {
        const buf = sink.chunkBuffer(size);
        const len = Math.min(size, rest.length - off);
        rest.copy(buf, 0, off, off + len);
        pending.push(write(s, buf, prefix.length + off, len));
      }
      const back = await Promise.all(pending);
      expect(back.every((b) => b.length === size)).toBe(true); // the buffers come back usable
      expect(await s.digest()).toBe(createHash('sha256').update(prefix).update(rest).digest('hex'));
      await s.close();
    } finally {
      closeSync(fd);
    }
    expect((await readFile(path)).equals(Buffer.concat([prefix, rest]))).toBe(true);
  });

  it('fails a write with the file system code (a read-only descriptor: EBADF)', async () => {
    const path = join(local, 'ro.part');
    await writeFile(path, '');
    const fd = openSync(path, 'r');
    try {
      const s = await sink.openPartSink(fd, 0, { threaded: true });
      const err = await write(s, sink.chunkBuffer(1024), 0, 1024).then(() => undefined, (e: unknown) => e as { code?: string });
      expect(err?.code).toBe('EBADF');
      await s.close();
    } finally {
      closeSync(fd);
    }
  });

  it('a resumed download through the thread ends with the sha256 of the whole file', async () => {
    const size = 40 * MIB + 4321; // more than 32 MiB left to fetch: the threaded sink
    const { data, sha256 } = await writeRandom(join(sshd.root, 'resume.bin'), size);
    const partPath = join(local, 'resume.bin.part');
    const resumeFrom = 5 * MIB + 17;
    await writeFile(partPath, data.subarray(0, resumeFrom));
    const session = await connect.openSftp(
      { host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint },
      silentLog,
    );
    const marks: number[] = [];
    try {
      const res = await session.download({
        remotePath: 'resume.bin', partPath, finalPath: join(local, 'resume.bin'), expectedSize: size, resumeFrom,
        expectedSha256: sha256, persistEveryBytes: MIB, onCheckpoint: (m) => {
          marks.push(m);
          return Promise.resolve();
        },
      });
      expect(res).toEqual({ bytes: size, sha256, resumedFrom: resumeFrom });
    } finally {
      await session.close();
    }
    expect((await readFile(join(local, 'resume.bin'))).equals(data)).toBe(true);
    expect(marks.length).toBeGreaterThan(0);
    expect(marks.every((m, i) => m > resumeFrom && m <= size && (i === 0 || m > marks[i - 1]!))).toBe(true);
  });
});
