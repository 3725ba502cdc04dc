import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { inject } from 'vitest';
import { startVendorSim } from '../../proxy/vendor-sim/index.js';
import type { StatusReport, VendorSim, VendorSimOptions } from '../../proxy/vendor-sim/types.js';
import { generateEd25519KeyPair } from '../../proxy/vendor-sim/sftp/host-key.js';

export const ARCHIVE_KEY = 'Archive-Key-2026!';
export const SIGNING_SECRET = 'vendor-signing-secret-for-tests';
export const SERVICE_ID = 'svc1001';

export interface SimHandle {
  sim: VendorSim;
  dir: string;
  clientKeyPath: string;
}

/** The vendor simulator on loopback ports, with a fresh client key pair authorised for the proxy. */
export async function startSim(options: Partial<Omit<VendorSimOptions, 'sftp' | 'http' | 'log'>> & { onReport?: (r: StatusReport) => Promise<void> | void } = {}): Promise<SimHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-sim-'));
  const keys = generateEd25519KeyPair();
  const clientKeyPath = join(dir, 'client_ed25519');
  await writeFile(clientKeyPath, keys.private, { mode: 0o600 });
  await mkdir(join(dir, 'outbox'), { recursive: true });
  const sim = await startVendorSim({
    dataDir: join(dir, 'outbox'),
    serviceId: SERVICE_ID,
    archiveKey: ARCHIVE_KEY,
    encryption: 'aes-256',
    signingSecret: SIGNING_SECRET,
    ...options,
    sftp: { port: 0, username: 'vendor', authorizedPublicKey: keys.public },
    http: { port: 0 },
    log: pino({ level: process.env.SIM_LOG_LEVEL ?? 'silent' }),
  });
  return { sim, dir, clientKeyPath };
}

export interface ProxySetup { configPath: string; stagingDir: string; dbName: string; siteId: string; dir: string }

/** Writes a proxy config.yaml pointing at the simulator and the test database. */
export async function writeProxyConfig(h: SimHandle, opts: { siteId: string; dbName: string; extra?: string; archiveKey?: string; chunkSize?: number }): Promise<ProxySetup> {
  const dir = await mkdtemp(join(tmpdir(), `rp-${opts.siteId}-`));
  const stagingDir = join(dir, 'staging');
  const keyFile = join(dir, 'archive.key');
  await writeFile(keyFile, `${opts.archiveKey ?? ARCHIVE_KEY}\n`, { mode: 0o600 });
  const configPath = join(dir, 'config.yaml');
  await writeFile(
    configPath,
    `siteId: ${opts.siteId}
serviceId: ${SERVICE_ID}
sftp:
  host: 127.0.0.1
  port: ${h.sim.sftpPort}
  username: vendor
  privateKeyFile: ${h.clientKeyPath}
  hostKeyFingerprint: "${h.sim.hostKeyFingerprint}"
  settleSeconds: 0.2
  checkpointBytes: 32768
  chunkSize: ${opts.chunkSize ?? 0}
  stallTimeoutMs: 3000
archive:
  keyFile: ${keyFile}
mongodb:
  uri: "${inject('mongoUri')}"
  database: ${opts.dbName}
  writeConcernTimeoutMs: 10000
  allowSingleNode: true
vendor:
  statusUrl: ${h.sim.statusUrl}
  signingSecret: ${SIGNING_SECRET}
staging:
  dir: ${stagingDir}
  minFreeBytes: 0
schedule:
  retryBaseSeconds: 0.1
  retryMaxSeconds: 1
${opts.extra ?? ''}`,
    { mode: 0o600 }, // it holds the vendor signing secret
  );
  return { configPath, stagingDir, dbName: opts.dbName, siteId: opts.siteId, dir };
}
