import { X509Certificate } from 'node:crypto';
import { access, constants, mkdir, readFile } from 'node:fs/promises';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { archiveKeyProblems } from '../config/archive-key-rules.js';
import type { Config } from '../config/schema.js';
import { connectDatabase, redactUri } from '../db/connect.js';
import { majority } from '../db/write-concern.js';
import { errorCodeOf } from '../errors.js';
import { readDiskStatus } from '../pipeline/disk-status.js';
import { Staging } from '../pipeline/staging.js';
import { isLoopbackHost, plainHttpProblem } from '../portal/http/listen-policy.js';
import { probeVendor } from '../report/send-report.js';
import { sftpTargetFrom } from '../services.js';
import { openSftp } from '../sftp/connect.js';
import { sftpSources, type SftpSource } from '../sftp/sources.js';
import { readReplicaSetHealth } from '../ha/replica-set-health.js';
import { durabilityLine, leaseReport, replicaSetLine } from './replica-set.js';
import { indexReport } from './index-report.js';
import { retentionReport } from './retention-report.js';

export type CheckStatus = 'PASS' | 'FAIL' | 'WARN';
export interface CheckLine { name: string; status: CheckStatus; detail: string }

const fmtBytes = (n: number): string => `${(n / 1024 ** 3).toFixed(1)} GiB`;
const fail = (name: string, err: unknown): CheckLine => ({ name, status: 'FAIL', detail: `${errorCodeOf(err)}: ${(err as Error).message}` });

/** Like the vendor dashboard's "Test this configuration now": every line PASS, WARN or FAIL. Never throws. */
export async function runChecks(config: Config, log: Logger): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const keyProblems = archiveKeyProblems(config.archive.key);
  lines.push(keyProblems.length === 0
    ? { name: 'archive key', status: 'PASS', detail: 'meets the rules (>= 8 chars, upper, lower, digit or symbol)' }
    : { name: 'archive key', status: 'FAIL', detail: keyProblems.join(', ') });

  lines.push(await checkPortalTransport(config));
  lines.push(...(await checkStaging(config)));
  lines.push(...(await checkSftp(config, log)));
  for (const peer of sftpSources(config).filter((source) => !source.primary)) lines.push(await checkPeer(config, peer, log));
  lines.push(...(await checkDatabase(config, log)));
  try {
    const status = await probeVendor(config.vendor);
    lines.push({ name: 'vendor status endpoint', status: status >= 200 && status < 300 ? 'PASS' : 'FAIL', detail: `HTTP ${status} from ${new URL(config.vendor.statusUrl).origin}` });
  } catch (err) {
    lines.push(fail('vendor status endpoint', err));
  }
  return lines;
}

/** HTTPS, or plain HTTP only where nobody else listens (loopback) or where the operator said a TLS proxy is in front. */
async function checkPortalTransport(config: Config): Promise<CheckLine> {
  const name = 'portal https';
  const { host, tls, allowPlainHttp } = config.portal;
  if (tls.certFile !== undefined) {
    try {
      const cert = new X509Certificate(await readFile(tls.certFile));
      const left = Date.parse(cert.validTo) - Date.now();
      const detail = `${tls.certFile}: ${cert.subject.replace(/\n/g, ', ')}, valid until ${new Date(cert.validTo).toISOString()}`;
      if (left <= 0) return { name, status: 'FAIL', detail: `certificate expired: ${detail}` };
      return { name, status: left < 30 * 86_400_000 ? 'WARN' : 'PASS', detail: left < 30 * 86_400_000 ? `certificate expires within 30 days: ${detail}` : detail };
    } catch (err) {
      return { name, status: 'FAIL', detail: `${tls.certFile}: not a readable PEM certificate (${(err as Error).message})` };
    }
  }
  const refused = plainHttpProblem({ host, tls: false, allowPlainHttp });
  if (refused) return { name, status: 'FAIL', detail: `run refuses to start: ${refused}` };
  if (isLoopbackHost(host)) return { name, status: 'PASS', detail: `plain HTTP on loopback only (${host})` };
  return { name, status: 'WARN', detail: `plain HTTP on ${host} (portal.allowPlainHttp): only safe behind a TLS-terminating reverse proxy${config.portal.trustProxy === '' ? '; set portal.trustProxy to its address so lockout and audit see client addresses' : ''}` };
}

async function checkStaging(config: Config): Promise<CheckLine[]> {
  const staging = new Staging(config.staging.dir);
  try {
    await mkdir(config.staging.dir, { recursive: true });
    await access(config.staging.dir, constants.W_OK);
    const free = await staging.freeBytes();
    return [{
      name: 'staging free disk',
      status: free >= config.staging.minFreeBytes ? 'PASS' : 'FAIL',
      detail: `${free >= config.staging.minFreeBytes ? '' : 'DISK_FULL: below the reserve, nothing is downloaded or extracted until space is freed; '}` +
        `${fmtBytes(free)} free in ${config.staging.dir} (reserve ${fmtBytes(config.staging.minFreeBytes)})`,
    }];
  } catch (err) {
    return [{ name: 'staging directory', status: 'FAIL', detail: `${config.staging.dir}: ${(err as Error).message}` }];
  }
}

/** Archives that DISK_FULL holds back: retried with backoff, but only an operator freeing space lets them through. */
async function diskWaitReport(config: Config, db: Db): Promise<CheckLine> {
  const { waiting } = await readDiskStatus(db, new Staging(config.staging.dir), config.staging.minFreeBytes);
  const first = waiting[0];
  if (!first) return { name: 'archives waiting for disk space', status: 'PASS', detail: 'none (no archive stopped by DISK_FULL)' };
  return {
    name: 'archives waiting for disk space',
    status: 'FAIL',
    detail: `DISK_FULL: ${waiting.length} archive(s) wait for space in ${config.staging.dir} (retried until it is freed); ${first.fileName}: ${first.message}`,
  };
}

async function checkSftp(config: Config, log: Logger): Promise<CheckLine[]> {
  const where = `${config.sftp.username}@${config.sftp.host}:${config.sftp.port}`;
  try {
    const session = await openSftp(sftpTargetFrom(config), log);
    const lines: CheckLine[] = [
      { name: 'sftp reachable', status: 'PASS', detail: where },
      { name: 'sftp host key', status: 'PASS', detail: `matches the pinned ${config.sftp.hostKeyFingerprint}` },
      { name: 'sftp authentication', status: 'PASS', detail: `key accepted for ${config.sftp.username}` },
    ];
    try {
      const files = await session.list(config.sftp.remoteDir);
      lines.push({ name: 'sftp remote directory', status: 'PASS', detail: `${config.sftp.remoteDir} lists ${files.length} file(s)` });
    } catch (err) {
      lines.push(fail('sftp remote directory', err));
    } finally {
      await session.close();
    }
    return lines;
  } catch (err) {
    const code = errorCodeOf(err);
    // Refused before any connection: say only that, not that the server was reached.
    if (code === 'SFTP_KEY_INVALID') return [fail('sftp private key', err)];
    if (code === 'SFTP_HOST_KEY_NOT_PINNED') return [fail('sftp host key', err)];
    const reached = code === 'SFTP_HOST_KEY_MISMATCH' || code === 'SFTP_AUTH_FAILED';
    const lines: CheckLine[] = [reached ? { name: 'sftp reachable', status: 'PASS', detail: where } : fail('sftp reachable', err)];
    if (code === 'SFTP_HOST_KEY_MISMATCH') lines.push(fail('sftp host key', err));
    if (code === 'SFTP_AUTH_FAILED') {
      lines.push({ name: 'sftp host key', status: 'PASS', detail: `matches the pinned ${config.sftp.hostKeyFingerprint}` });
      lines.push(fail('sftp authentication', err));
    }
    return lines;
  }
}

/**
 * One sftp.peers server (e.g. the other HA node's inbox): WARN, not FAIL, when it cannot be reached or listed, as the
 * proxy then still collects from the others (the peer's archives wait until it is back).
 */
async function checkPeer(config: Config, peer: SftpSource, log: Logger): Promise<CheckLine> {
  const name = `sftp peer ${peer.label}`;
  try {
    const session = await openSftp(peer.target, log);
    try {
      const files = await session.list(config.sftp.remoteDir);
      return { name, status: 'PASS', detail: `host key ${peer.id} matches; ${config.sftp.remoteDir} lists ${files.length} file(s)` };
    } finally {
      await session.close();
    }
  } catch (err) {
    return { name, status: 'WARN', detail: `${errorCodeOf(err)}: ${(err as Error).message} (archives uploaded there wait until it is reachable; the other servers are collected)` };
  }
}

/** The database lines of `check` (exported for tests). */
export async function checkDatabase(config: Config, log: Logger): Promise<CheckLine[]> {
  let conn: Awaited<ReturnType<typeof connectDatabase>> | undefined;
  try {
    conn = await connectDatabase({ uri: config.mongodb.uri, database: config.mongodb.database, ...(config.mongodb.password ? { password: config.mongodb.password } : {}), writeConcernTimeoutMs: config.mongodb.writeConcernTimeoutMs, serverSelectionTimeoutMs: 5000 }, log);
    const hello = await conn.db.admin().command({ buildInfo: 1 });
    const lines: CheckLine[] = [{ name: 'mongodb reachable', status: 'PASS', detail: `${redactUri(config.mongodb.uri)} (server ${String(hello.version)})` }];
    const health = await readReplicaSetHealth(conn.db, 10_000);
    lines.push(replicaSetLine(health));
    lines.push(durabilityLine(health, config.mongodb.allowSingleNode));
    if (config.ha.enabled) lines.push(await leaseReport(conn.db, config.siteId));
    lines.push(await retentionReport(conn.db).catch((err: unknown) => fail('retention runs', err)));
    lines.push(await indexReport(conn.db).catch((err: unknown) => fail('portal indexes', err)));
    try {
      await conn.db.collection('proxy.check').updateOne({ _id: 'majority-write' as unknown as never }, { $set: { at: new Date() } }, { upsert: true, writeConcern: majority(config.mongodb.writeConcernTimeoutMs) });
      lines.push({ name: 'mongodb majority write', status: 'PASS', detail: `acknowledged within ${config.mongodb.writeConcernTimeoutMs} ms` });
    } catch (err) {
      lines.push({ name: 'mongodb majority write', status: 'FAIL', detail: `${(err as Error).message} (a data-bearing member may be down: see docs/operations.md)` });
    }
    lines.push(await diskWaitReport(config, conn.db));
    return lines;
  } catch (err) {
    return [fail('mongodb reachable', err)];
  } finally {
    await conn?.client.close();
  }
}
