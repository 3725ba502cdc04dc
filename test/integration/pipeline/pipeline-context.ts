import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { configFromObject } from '../../../proxy/config/load-config.js';
import { JobStore } from '../../../proxy/db/jobs.js';
import { Outbox } from '../../../proxy/db/outbox.js';
import { ensureImportIndexes } from '../../../proxy/importer/index.js';
import type { PipelineContext } from '../../../proxy/pipeline/context.js';
import { Staging } from '../../../proxy/pipeline/staging.js';
import { openSftp } from '../../../proxy/sftp/connect.js';
import { inject } from 'vitest';
import type { TestDatabase } from '../../helpers/db.js';
import type { SshdHandle } from '../../helpers/sshd.js';

export const KEY = 'Pipeline-Key-42!';
export const SECRET = 'pipeline-secret';

/** A real pipeline context: OpenSSH sshd, the test database, a temp staging dir. */
export async function pipelineContext(sshd: SshdHandle, tdb: TestDatabase, statusUrl: string, overrides: Record<string, unknown> = {}): Promise<PipelineContext> {
  const staging = await mkdtemp(join(tmpdir(), 'rp-pipe-'));
  const config = configFromObject({
    siteId: 'it-site',
    sftp: { host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint, settleSeconds: 0.1, remoteDir: sshd.root },
    archive: { key: KEY },
    mongodb: { uri: inject('mongoUri'), database: tdb.name },
    vendor: { statusUrl, signingSecret: SECRET },
    staging: { dir: staging, minFreeBytes: 0 },
    schedule: { retryBaseSeconds: 0.1, retryMaxSeconds: 1, maxAttempts: 3 },
    ...overrides,
  });
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const jobs = new JobStore(tdb.db, config.mongodb.writeConcernTimeoutMs);
  const outbox = new Outbox(tdb.db, config.mongodb.writeConcernTimeoutMs);
  await jobs.ensureIndexes();
  await outbox.ensureIndexes();
  await ensureImportIndexes(tdb.db);
  return {
    config, db: tdb.db, jobs, outbox, staging: new Staging(staging), log,
    connectSftp: () => openSftp({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint }, log),
    now: () => new Date(),
  };
}
