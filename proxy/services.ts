import type { Db, MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { connectDatabase } from './db/connect.js';
import { JobStore } from './db/jobs.js';
import { Outbox } from './db/outbox.js';
import { ensureImportIndexes } from './importer/index.js';
import type { PipelineContext } from './pipeline/context.js';
import { Staging } from './pipeline/staging.js';
import { SyncRunner } from './pipeline/sync-runner.js';
import { openSftp, type SftpTarget } from './sftp/connect.js';

export interface Services {
  readonly config: Config;
  readonly log: Logger;
  readonly client: MongoClient;
  readonly db: Db;
  readonly jobs: JobStore;
  readonly outbox: Outbox;
  readonly staging: Staging;
  readonly pipeline: PipelineContext;
  readonly runner: SyncRunner;
  close(): Promise<void>;
}

export function sftpTargetFrom(config: Config): SftpTarget {
  const { sftp } = config;
  return {
    host: sftp.host,
    port: sftp.port,
    username: sftp.username,
    privateKey: sftp.privateKey,
    ...(sftp.passphrase ? { passphrase: sftp.passphrase } : {}),
    hostKeyFingerprint: sftp.hostKeyFingerprint,
    readyTimeoutMs: sftp.readyTimeoutMs,
  };
}

/** Connects the database and wires the pipeline. The caller owns the result and must close() it. */
export async function createServices(config: Config, log: Logger, signal?: AbortSignal): Promise<Services> {
  const { client, db } = await connectDatabase(
    {
      uri: config.mongodb.uri,
      database: config.mongodb.database,
      ...(config.mongodb.password ? { password: config.mongodb.password } : {}),
      writeConcernTimeoutMs: config.mongodb.writeConcernTimeoutMs,
      appName: `retention-proxy/${config.siteId}`,
    },
    log,
  );
  try {
    const jobs = new JobStore(db, config.mongodb.writeConcernTimeoutMs);
    const outbox = new Outbox(db, config.mongodb.writeConcernTimeoutMs);
    await jobs.ensureIndexes();
    await outbox.ensureIndexes();
    await ensureImportIndexes(db);
    const staging = new Staging(config.staging.dir);
    await staging.ensure();
    const target = sftpTargetFrom(config);
    const pipeline: PipelineContext = {
      config,
      db,
      jobs,
      outbox,
      staging,
      log,
      connectSftp: () => openSftp(target, log),
      now: () => new Date(),
      ...(signal ? { signal } : {}),
    };
    const runner = new SyncRunner(pipeline);
    return {
      config, log, client, db, jobs, outbox, staging, pipeline, runner,
      close: async () => {
        runner.stop();
        await runner.idle();
        await client.close();
      },
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}
