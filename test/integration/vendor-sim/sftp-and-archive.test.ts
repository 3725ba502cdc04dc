import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKeyFingerprint } from '../../../proxy/vendor-sim/index.js';
import ssh2 from 'ssh2';
import { connectRaw, KEY, openRead, readAt, readWhole, startFixture, statSize, type SimFixture } from './sim-fixture.js';
import { generateEd25519KeyPair } from '../../../proxy/vendor-sim/sftp/host-key.js';

const run = promisify(execFile);
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('vendor simulator: publishing and SFTP', () => {
  let f: SimFixture;
  beforeAll(async () => { f = await startFixture(); });
  afterAll(async () => { await f.stop(); });

  it('publishes a correctly named archive with a sha256sum sidecar and lists it over SFTP', async () => {
    const r = await f.sim.publishDay({ date: new Date('2026-03-01T02:00:00Z'), records: 200, mediaBytes: 128 * 1024 });
    expect(r.fileName).toMatch(/^backup_svc1001_[0-9a-f-]{36}_20260301020000\.zip$/);
    const onDisk = await readFile(join(f.dataDir, r.fileName));
    expect(onDisk.length).toBe(r.bytes);
    expect(sha256(onDisk)).toBe(r.sha256);
    expect(await readFile(join(f.dataDir, `${r.fileName}.sha256`), 'utf8')).toBe(`${r.sha256}  ${r.fileName}\n`);
    await run('sha256sum', ['-c', `${r.fileName}.sha256`], { cwd: f.dataDir });

    const { client, sftp } = await connectRaw(f);
    const names = await new Promise<string[]>((res, rej) => sftp.readdir('/', (err, list) => (err ? rej(err) : res(list.map((e) => e.filename)))));
    expect(names).toContain(r.fileName);
    expect(names).toContain(`${r.fileName}.sha256`);
    const h = await openRead(sftp, r.fileName);
    const got = await readWhole(sftp, h, r.bytes);
    expect(sha256(got)).toBe(r.sha256);
    client.end();
    const row = f.sim.backupLog().find((x) => x.fileName === r.fileName);
    expect(row).toMatchObject({ status: 'uploaded', statusText: 'Backup uploaded', totalBytes: r.bytes, fileCount: r.fileCount });
  });

  it('presents the host key whose fingerprint it reports, as ssh-keygen prints it', async () => {
    const { client, hostKey } = await connectRaw(f);
    client.end();
    const parsed = ssh2.utils.parseKey(hostKey);
    if (parsed instanceof Error) throw parsed;
    expect(hostKeyFingerprint(parsed)).toBe(f.sim.hostKeyFingerprint);
    const { stdout } = await run('sh', ['-c', `ssh-keyscan -p ${f.sim.sftpPort} -t ed25519 127.0.0.1 2>/dev/null | ssh-keygen -lf -`]);
    expect(stdout).toContain(f.sim.hostKeyFingerprint);
  });

  it('serves OpenSSH sftp (the real client) and refuses writes and path escapes', async () => {
    const r = await f.sim.publishDay({ date: new Date('2026-03-02T02:00:00Z'), records: 100, mediaBytes: 32 * 1024 });
    const batch = join(f.dir, 'batch');
    const local = join(f.dir, 'got.zip');
    await writeFile(batch, `get ${r.fileName} ${local}\n`);
    await run('sftp', ['-i', f.privateKeyPath, '-P', String(f.sim.sftpPort), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-b', batch, 'vendor@127.0.0.1']);
    expect(sha256(await readFile(local))).toBe(r.sha256);

    const { client, sftp } = await connectRaw(f);
    await expect(new Promise((res, rej) => sftp.open('new.txt', 'w', (err, h) => (err ? rej(err) : res(h))))).rejects.toMatchObject({ code: 3 });
    await expect(statSize(sftp, '../../etc/passwd')).rejects.toMatchObject({ code: 3 });
    await expect(new Promise((res, rej) => sftp.unlink(r.fileName, (err) => (err ? rej(err) : res(undefined))))).rejects.toMatchObject({ code: 3 });
    client.end();
  });

  it('refuses a client key that is not the authorised one', async () => {
    const other = generateEd25519KeyPair().private;
    await expect(connectRaw(f, other)).rejects.toMatchObject({ level: 'client-authentication' });
  });
});

describe('vendor simulator: archives open with standard tools', () => {
  for (const encryption of ['aes-256', 'zipcrypto'] as const) {
    it(`7z accepts the ${encryption} archive with the Archive Key and rejects a wrong key${encryption === 'zipcrypto' ? '; unzip accepts it too' : ''}`, async () => {
      const f = await startFixture({ encryption });
      try {
        const r = await f.sim.publishDay({ records: 150, mediaBytes: 64 * 1024, layout: 'array' });
        const path = join(f.dataDir, r.fileName);
        const ok = await run('7z', ['t', `-p${KEY}`, path]);
        expect(ok.stdout).toContain('Everything is Ok');
        expect(ok.stdout).toContain(`Files: ${r.fileCount}`);
        await expect(run('7z', ['t', '-pWrong-Key-1', path])).rejects.toBeDefined();
        const { stdout } = await run('7z', ['l', '-slt', `-p${KEY}`, path]);
        expect(stdout).toContain(encryption === 'aes-256' ? 'AES-256' : 'ZipCrypto');
        if (encryption === 'zipcrypto') {
          const u = await run('unzip', ['-t', '-P', KEY, path]);
          expect(u.stdout).toContain('No errors detected');
        }
      } finally {
        await f.stop();
      }
    });
  }
});

describe('vendor simulator: SFTP faults', () => {
  let f: SimFixture;
  beforeAll(async () => { f = await startFixture(); });
  afterAll(async () => { await f.stop(); });

  it('dropAfterBytes closes the connection after N bytes, once per archive', async () => {
    const r = await f.sim.publishDay({ records: 200, mediaBytes: 512 * 1024 });
    expect(r.bytes).toBeGreaterThan(200_000);
    f.sim.setFaults({ dropAfterBytes: 100_000 });
    const { sftp, closed } = await connectRaw(f);
    const h = await openRead(sftp, r.fileName);
    let got = 0;
    await expect((async () => {
      for (;;) got += await readAt(sftp, h, got, 32 * 1024);
    })()).rejects.toBeDefined();
    await closed;
    expect(got).toBe(100_000);
    const second = await connectRaw(f);
    const h2 = await openRead(second.sftp, r.fileName);
    expect(sha256(await readWhole(second.sftp, h2, r.bytes))).toBe(r.sha256);
    second.client.end();
    f.sim.setFaults({ dropAfterBytes: 0 });
  });

  it('stallAfterBytes stops answering reads but keeps the connection, then heals', async () => {
    const r = await f.sim.publishDay({ records: 200, mediaBytes: 256 * 1024 });
    f.sim.setFaults({ stallAfterBytes: 65_536 });
    const { client, sftp } = await connectRaw(f);
    const h = await openRead(sftp, r.fileName);
    expect(await readAt(sftp, h, 0, 32_768)).toBe(32_768);
    expect(await readAt(sftp, h, 32_768, 32_768)).toBe(32_768);
    const stalled = await Promise.race([readAt(sftp, h, 65_536, 32_768).then(() => 'answered'), new Promise((res) => setTimeout(() => res('stalled'), 1500))]);
    expect(stalled).toBe('stalled');
    expect(await statSize(sftp, r.fileName)).toBe(r.bytes); // the connection still answers
    const h2 = await openRead(sftp, r.fileName);
    expect(sha256(await readWhole(sftp, h2, r.bytes))).toBe(r.sha256);
    client.end();
    f.sim.setFaults({ stallAfterBytes: 0 });
  });

  it('shortReads answers with fewer bytes than asked, and the data is still right', async () => {
    const r = await f.sim.publishDay({ records: 100, mediaBytes: 64 * 1024 });
    f.sim.setFaults({ shortReads: true });
    const { client, sftp } = await connectRaw(f);
    const h = await openRead(sftp, r.fileName);
    const n = await readAt(sftp, h, 0, 32_768);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(32_768);
    expect(sha256(await readWhole(sftp, h, r.bytes))).toBe(r.sha256);
    client.end();
    f.sim.setFaults({ shortReads: false });
  });

  it('flipByteAt serves a corrupted archive whose SHA-256 differs from the sidecar', async () => {
    const r = await f.sim.publishDay({ records: 100, mediaBytes: 64 * 1024 });
    f.sim.setFaults({ flipByteAt: 1000 });
    const { client, sftp } = await connectRaw(f);
    const bad = await readWhole(sftp, await openRead(sftp, r.fileName), r.bytes);
    const sidecar = (await readWhole(sftp, await openRead(sftp, `${r.fileName}.sha256`), 200)).toString('utf8');
    expect(bad.length).toBe(r.bytes);
    expect(sidecar.startsWith(r.sha256)).toBe(true);
    expect(sha256(bad)).not.toBe(r.sha256);
    const good = await readFile(join(f.dataDir, r.fileName));
    expect(bad[1000]).toBe((good[1000] ?? 0) ^ 0xff);
    f.sim.setFaults({ flipByteAt: -1 });
    expect(sha256(await readWhole(sftp, await openRead(sftp, r.fileName), r.bytes))).toBe(r.sha256);
    client.end();
  });

  it('bytesPerSecond throttles the transfer', async () => {
    const r = await f.sim.publishDay({ records: 100, mediaBytes: 128 * 1024 });
    f.sim.setFaults({ bytesPerSecond: 200_000 });
    const { client, sftp } = await connectRaw(f);
    const h = await openRead(sftp, r.fileName);
    // The whole archive, whatever its size (a generated day compresses differently from run to run: reading a fixed
    // 100 000 bytes ended early at EOF when the archive was smaller, and took less time than the fixed bound).
    const t0 = Date.now();
    const got = await readWhole(sftp, h, r.bytes);
    const elapsed = Date.now() - t0;
    expect(got.length).toBe(r.bytes);
    // Sequential reads, each sent only after its share of the rate: at least bytes / rate (a few ms of timer slack).
    expect(elapsed).toBeGreaterThanOrEqual((r.bytes / 200_000) * 1000 - 20);
    client.end();
    f.sim.setFaults({ bytesPerSecond: 0 });
  });

  it('stillUploading makes the next archive grow in place, then completes it with its sidecar', async () => {
    f.sim.setFaults({ stillUploading: true });
    const r = await f.sim.publishDay({ records: 200, mediaBytes: 256 * 1024 });
    const { client, sftp } = await connectRaw(f);
    const first = await statSize(sftp, r.fileName);
    await new Promise((res) => setTimeout(res, 700));
    const second = await statSize(sftp, r.fileName);
    expect(first).toBeLessThan(r.bytes);
    expect(second).toBeGreaterThan(first);
    expect(f.sim.backupLog().find((x) => x.fileName === r.fileName)?.statusText).toBe('Uploading backup...');
    const deadline = Date.now() + 15_000;
    while (f.sim.backupLog().find((x) => x.fileName === r.fileName)?.status !== 'uploaded' && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(await statSize(sftp, r.fileName)).toBe(r.bytes);
    expect(await statSize(sftp, `${r.fileName}.sha256`)).toBeGreaterThan(64);
    client.end();
    const next = await f.sim.publishDay({ records: 50, mediaBytes: 16 * 1024 });
    expect(f.sim.backupLog().find((x) => x.fileName === next.fileName)?.status).toBe('uploaded');
  });
});
