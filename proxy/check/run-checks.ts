import { access, constants, mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { archiveKeyProblems } from '../config/archive-key-rules.js';
import type { Config } from '../config/schema.js';
import { connectDatabase, redactUri } from '../db/connect.js';
import { errorCodeOf } from '../errors.js';
import { Staging } from '../pipeline/staging.js';
import { probeVendor } from '../report/send-report.js';
import { sftpTargetFrom } from '../services.js';
import { openSftp } from '../sftp/connect.js';
import { leaseReport, replicaSetReport } from './replica-set.js';
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

  lines.push(...(await checkStaging(config)));
  lines.push(...(await checkSftp(config, log)));
  lines.push(...(await checkDatabase(config, log)));
  try {
    const status = await probeVendor(config.vendor);
    lines.push({ name: 'vendor status endpoint', status: status >= 200 && status < 300 ? 'PASS' : 'FAIL', detail: `HTTP ${status} from ${new URL(config.vendor.statusUrl).origin}` });
  } catch (err) {
    lines.push(fail('vendor status endpoint', err));
  }
  return lines;
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
      detail: `${fmtBytes(free)} free in ${config.staging.dir} (reserve ${fmtBytes(config.staging.minFreeBytes)})`,
    }];
  } catch (err) {
    return [{ name: 'staging directory', status: 'FAIL', detail: `${config.staging.dir}: ${(err as Error).message}` }];
  }
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

async function checkDatabase(config: Config, log: Logger): Promise<CheckLine[]> {
  let conn: Awaited<ReturnType<typeof connectDatabase>> | undefined;
  try {
    conn = await connectDatabase({ uri: config.mongodb.uri, database: config.mongodb.database, ...(config.mongodb.password ? { password: config.mongodb.password } : {}), writeConcernTimeoutMs: config.mongodb.writeConcernTimeoutMs, serverSelectionTimeoutMs: 5000 }, log);
    const hello = await conn.db.admin().command({ buildInfo: 1 });
    const lines: CheckLine[] = [{ name: 'mongodb reachable', status: 'PASS', detail: `${redactUri(config.mongodb.uri)} (server ${String(hello.version)})` }];
    lines.push(await replicaSetReport(conn.db));
    if (config.ha.enabled) lines.push(await leaseReport(conn.db, config.siteId));
    lines.push(await retentionReport(conn.db).catch((err: unknown) => fail('retention runs', err)));
    try {
      await conn.db.collection('proxy.check').updateOne({ _id: 'majority-write' as unknown as never }, { $set: { at: new Date() } }, { upsert: true, writeConcern: { w: 'majority', wtimeoutMS: config.mongodb.writeConcernTimeoutMs } });
      lines.push({ name: 'mongodb majority write', status: 'PASS', detail: `acknowledged within ${config.mongodb.writeConcernTimeoutMs} ms` });
    } catch (err) {
      lines.push({ name: 'mongodb majority write', status: 'FAIL', detail: `${(err as Error).message} (a data-bearing member may be down: see docs/operations.md)` });
    }
    return lines;
  } catch (err) {
    return [fail('mongodb reachable', err)];
  } finally {
    await conn?.client.close();
  }
}
