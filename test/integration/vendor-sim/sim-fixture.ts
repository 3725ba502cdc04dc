import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import ssh2 from 'ssh2';
import type { Client, SFTPWrapper } from 'ssh2';
import { startVendorSim, type VendorSim, type VendorSimOptions } from '../../../proxy/vendor-sim/index.js';
import { generateEd25519KeyPair } from '../../../proxy/vendor-sim/sftp/host-key.js';

export const KEY = 'Archive-Key-2026!';
export const SECRET = 'vendor-signing-secret';
export const SERVICE = 'svc1001';

export interface SimFixture {
  sim: VendorSim;
  dir: string;
  dataDir: string;
  privateKey: string;
  privateKeyPath: string;
  stop(): Promise<void>;
}

export async function startFixture(over: Partial<VendorSimOptions> = {}): Promise<SimFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'vsim-it-'));
  const dataDir = join(dir, 'outbox');
  await import('node:fs/promises').then((fs) => fs.mkdir(dataDir));
  const keys = generateEd25519KeyPair();
  const privateKeyPath = join(dir, 'id_ed25519');
  await writeFile(privateKeyPath, keys.private, { mode: 0o600 });
  const sim = await startVendorSim({
    dataDir, serviceId: SERVICE, archiveKey: KEY, encryption: 'aes-256', signingSecret: SECRET,
    sftp: { port: 0, username: 'vendor', authorizedPublicKey: keys.public }, http: { port: 0 },
    log: pino({ level: process.env.SIM_LOG_LEVEL ?? 'silent' }),
    ...over,
  });
  return {
    sim, dir, dataDir, privateKey: keys.private, privateKeyPath,
    stop: async () => {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RawSftp {
  client: Client;
  sftp: SFTPWrapper;
  closed: Promise<void>;
  hostKey: Buffer;
}

/** A plain ssh2 client (not the proxy's) so tests see exactly what the server sends. */
export function connectRaw(f: SimFixture, privateKey = f.privateKey): Promise<RawSftp> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let hostKey: Buffer = Buffer.alloc(0);
    const closed = new Promise<void>((res) => client.on('close', () => res()));
    client.on('error', reject);
    client.on('ready', () => {
      client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp, closed, hostKey })));
    });
    client.connect({
      host: '127.0.0.1', port: f.sim.sftpPort, username: 'vendor', privateKey,
      hostVerifier: (key: Buffer) => { hostKey = key; return true; },
    });
  });
}

export const openRead = (sftp: SFTPWrapper, path: string): Promise<Buffer> =>
  new Promise((resolve, reject) => sftp.open(path, 'r', (err, h) => (err ? reject(err) : resolve(h))));

export const readAt = (sftp: SFTPWrapper, h: Buffer, position: number, length: number): Promise<number> =>
  new Promise((resolve, reject) => {
    sftp.read(h, Buffer.alloc(length), 0, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
  });

export const readWhole = (sftp: SFTPWrapper, h: Buffer, size: number, chunk = 32 * 1024): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const out = Buffer.alloc(size);
    const step = (pos: number): void => {
      if (pos >= size) return resolve(out);
      sftp.read(h, out, pos, Math.min(chunk, size - pos), pos, (err, n) => (err ? reject(err) : n === 0 ? resolve(out.subarray(0, pos)) : step(pos + n)));
    };
    step(0);
  });

export const statSize = (sftp: SFTPWrapper, path: string): Promise<number> =>
  new Promise((resolve, reject) => sftp.stat(path, (err, s) => (err ? reject(err) : resolve(s.size))));
