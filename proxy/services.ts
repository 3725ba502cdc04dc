import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db, MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { connectDatabase } from './db/connect.js';
import { ProgressDocs } from './db/job-progress.js';
import { JobStore } from './db/jobs.js';
import { Outbox } from './db/outbox.js';
import { ProxyError } from './errors.js';
import { Lease } from './ha/lease.js';
import { MongoLeaseStore } from './ha/lease-store.js';
import { readReplicaSetHealth, type ReplicaSetHealth } from './ha/replica-set-health.js';
import { ProxyMetrics } from './metrics/metrics.js';
import { ensureImportIndexes } from './importer/index.js';
import { backfillArchiveTimes } from './importer/stamp-backfill.js';
import { backfillIdentities } from './importer/identity-backfill.js';
import { backfillCallTimes } from './importer/call-times.js';
import type { PipelineContext } from './pipeline/context.js';
import { readDiskStatus, type DiskStatus } from './pipeline/disk-status.js';
import { LogProgressSink, fanOut, type ProgressSink } from './pipeline/progress.js';
import { ProgressStore } from './pipeline/progress-store.js';
import { Staging } from './pipeline/staging.js';
import { SyncRunner } from './pipeline/sync-runner.js';
import { openSftp, type SftpTarget } from './sftp/connect.js';
import { sftpTargetFrom as targetOf } from './sftp/sources.js';
import { Mutex } from './retention/mutex.js';
import { RetentionService } from './retention/service.js';
import type { ConfigPolicy } from './retention/types.js';
import { SWEEPS_COLLECTION, type SweepDoc } from './integrity/sweep.js';

/** How often a standby checks whether it leads, to run the one-time background migrations. */
const IDENTITY_BACKFILL_POLL_MS = 10_000;

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
  /** HA (`ha.enabled`): the leader lease; undefined on a single VM, where this process always leads. */
  readonly lease: Lease | undefined;
  readonly metrics: ProxyMetrics;
  /** Retention governance (docs/retention.md); config policies are synced at start. */
  readonly retention: RetentionService;
  /** Replica set health, cached for a few seconds (/readyz and /metrics both ask). */
  readonly replicaSet: () => Promise<ReplicaSetHealth>;
  /** The staging disk and the archives DISK_FULL holds back, cached for two seconds (/readyz and /metrics). */
  readonly disk: () => Promise<DiskStatus>;
  /**
   * One-shot commands (`sync --once`, `import`) with HA: take the lease for this run, or LEASE_HELD naming the node
   * that holds it (that node's daemon does the work). No-op without HA. close() releases it.
   */
  takeLeaseForCommand(): Promise<void>;
  close(): Promise<void>;
}

/** The primary server's connection settings (proxy/sftp/sources.ts has the peers too). */
export function sftpTargetFrom(config: Config): SftpTarget {
  return targetOf(config);
}

/** Connects the database and wires the pipeline. The caller owns the result and must close() it. */
export interface ServiceOptions {
  /** Where progress goes besides /metrics: default the log (a line per stage and every 10 s); a terminal for CLI runs. */
  progress?: ProgressSink;
}

export async function createServices(config: Config, log: Logger, signal?: AbortSignal, options: ServiceOptions = {}): Promise<Services> {
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
  const identityAbort = new AbortController();
  try {
    const lease = config.ha.enabled ? createLease(config, db, log) : undefined;
    const jobs = new JobStore(db, config.mongodb.writeConcernTimeoutMs, undefined, lease);
    const outbox = new Outbox(db, config.mongodb.writeConcernTimeoutMs, undefined, lease);
    await jobs.ensureIndexes();
    await outbox.ensureIndexes();
    await ensureImportIndexes(db);
    await backfillArchiveTimes(db, config.mongodb.writeConcernTimeoutMs, log);
    // Not awaited: start-up does not wait for it (lists show every stored version until it is done); close() stops it.
    // Background work: with HA only on the leader (waits for the lease), each batch fenced; after the import indexes.
    const identityBackfill = (async () => {
      while (lease && !lease.holder) await sleep(IDENTITY_BACKFILL_POLL_MS, undefined, { signal: identityAbort.signal });
      await backfillIdentities(db, config.mongodb.writeConcernTimeoutMs, log, identityAbort.signal, lease);
      await backfillCallTimes(db, config.mongodb.writeConcernTimeoutMs, log, identityAbort.signal);
    })().catch((err: unknown) => {
      if (!identityAbort.signal.aborted) log.warn({ err }, 'a one-time background migration (superseded versions, call times) failed; retried at the next start');
    });
    const staging = new Staging(config.staging.dir);
    await staging.ensure();
    const target = sftpTargetFrom(config);
    const replicaSet = cached(() => readReplicaSetHealth(db), 5000);
    const disk = cached(() => readDiskStatus(db, staging, config.staging.minFreeBytes), 2000);
    const recordWrites = new Mutex();
    const holder: { retention?: RetentionService } = {};
    const metrics = new ProxyMetrics({
      outboxDepth: () => outbox.depth(), lease: () => lease?.status(), replicaSet, disk,
      retentionLastRun: async () => (await holder.retention?.health())?.lastFinished?.finishedAt ?? null,
      lastSweep: () => db.collection<SweepDoc>(SWEEPS_COLLECTION).findOne({ state: 'done' }, { sort: { finishedAt: -1 } }).then((s) => (s?.finishedAt && s.problemCounts ? { finishedAt: s.finishedAt, ok: s.ok === true, counts: s.counts, problemCounts: s.problemCounts } : null)),
    });
    const retention = new RetentionService({
      db, log, writeConcernTimeoutMs: config.mongodb.writeConcernTimeoutMs, nodeId: config.ha.nodeId || hostname(),
      batchSize: config.retention.batchSize, batchPauseMs: config.retention.batchPauseMs, recordWrites,
      ...(lease ? { lease } : {}),
    }, metrics);
    holder.retention = retention;
    await retention.ensureIndexes();
    // The schema checks their shape; syncConfigPolicies checks data types, scopes and days (CONFIG_INVALID).
    await retention.syncConfigPolicies(config.retention.policies as unknown as ConfigPolicy[]);
    // The portal on either node shows the leader's progress from `proxy.progress` (docs/portal.md, Sync status).
    const progressStore = new ProgressStore(new ProgressDocs(db, lease), log, { node: config.ha.nodeId || hostname() });
    const pipeline: PipelineContext = {
      config,
      db,
      jobs,
      outbox,
      staging,
      log,
      connectSftp: () => openSftp(target, log),
      now: () => new Date(),
      metrics,
      progress: fanOut(metrics, options.progress ?? new LogProgressSink(log), progressStore),
      recordWrites,
      ...(signal ? { signal } : {}),
    };
    const runner = new SyncRunner(pipeline, { retryTimer: true }, lease);
    return {
      config, log, client, db, jobs, outbox, staging, pipeline, runner, lease, metrics, replicaSet, disk, retention,
      takeLeaseForCommand: async () => {
        if (!lease) return;
        if (await lease.tryAcquire()) {
          lease.start(); // keeps renewing for as long as the command runs
          return;
        }
        const leader = lease.status().leader;
        throw new ProxyError('LEASE_HELD', leader
          ? `${leader.nodeId} is the leader (token ${leader.token}, lease until ${leader.expiresAt} server time) and runs the sync; run this on that node, or stop its service first`
          : 'try again in a moment', { details: leader ? { ...leader } : {} });
      },
      close: async () => {
        runner.stop();
        retention.stop();
        await runner.idle();
        await retention.idle();
        await progressStore.idle();
        identityAbort.abort();
        await identityBackfill;
        await lease?.stop();
        await client.close();
      },
    };
  } catch (err) {
    identityAbort.abort();
    await client.close();
    throw err;
  }
}

function createLease(config: Config, db: Db, log: Logger): Lease {
  const ttlMs = config.ha.leaseTtlSeconds * 1000;
  // A lease write must not wait longer than a renewal period, or a stalled write would outlive the term.
  const store = new MongoLeaseStore(db, Math.min(config.mongodb.writeConcernTimeoutMs, ttlMs / 3));
  return new Lease({ siteId: config.siteId, nodeId: config.ha.nodeId || hostname(), ttlMs, store, log });
}

/** The last result of `fn` for `maxAgeMs`; concurrent callers share one call. */
function cached<T>(fn: () => Promise<T>, maxAgeMs: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || performance.now() - last.at > maxAgeMs) last = { at: performance.now(), value: fn() };
    return last.value;
  };
}
