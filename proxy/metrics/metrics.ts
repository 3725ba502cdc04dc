import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ErrorCode } from '../errors.js';
import type { LeaseStatus } from '../ha/lease.js';
import type { ReplicaSetHealth } from '../ha/replica-set-health.js';
import type { PipelineMetrics, PipelineStage } from '../pipeline/context.js';
import type { DiskStatus } from '../pipeline/disk-status.js';
import type { Progress, ProgressSink } from '../pipeline/progress.js';

/** Read at scrape time (each call may hit the database; failures leave the database_up gauge at 0). */
export interface MetricsSources {
  outboxDepth(): Promise<number>;
  /** undefined when HA is off. */
  lease(): LeaseStatus | undefined;
  replicaSet(): Promise<ReplicaSetHealth>;
  /** The staging disk (free space, reserve, archives held back by DISK_FULL); omitted: no disk gauges. */
  disk?(): Promise<DiskStatus>;
  /** When the last retention run (of any node) finished; read from retention.runs at scrape time. */
  retentionLastRun?(): Promise<Date | null>;
  /** The last finished fixity sweep (proxy/integrity/sweep.ts), or null; absent where no sweep runs. */
  lastSweep?(): Promise<LastSweep | null>;
}

/** What /metrics shows of the last finished fixity sweep. */
export interface LastSweep {
  finishedAt: Date;
  ok: boolean;
  counts: { records: number; mediaFiles: number; mediaBytes: number; auditEntries: number };
  problemCounts: Record<string, number>;
}

const PREFIX = 'retention_proxy_';

/**
 * The proxy's Prometheus metrics, in a registry of its own (no global default registry): the pipeline's counters and
 * timings, plus gauges read at scrape time (outbox depth, lease, replica set).
 */
export class ProxyMetrics implements PipelineMetrics, ProgressSink {
  readonly registry = new Registry();
  private processMetrics = false;
  private readonly archivesPulled = new Counter({ name: `${PREFIX}archives_pulled_total`, help: 'Archives downloaded and verified', registers: [this.registry] });
  private readonly bytesPulled = new Counter({ name: `${PREFIX}bytes_pulled_total`, help: 'Bytes of archives downloaded and verified', registers: [this.registry] });
  private readonly archivesImported = new Counter({ name: `${PREFIX}archives_imported_total`, help: 'Archives imported (majority-acknowledged)', registers: [this.registry] });
  private readonly recordsImported = new Counter({ name: `${PREFIX}records_imported_total`, help: 'Records imported', registers: [this.registry] });
  private readonly stageDuration = new Histogram({
    name: `${PREFIX}stage_duration_seconds`,
    help: 'Duration of pipeline stages (download and import per archive, report delivery and the whole cycle)',
    labelNames: ['stage'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600],
    registers: [this.registry],
  });
  private readonly failures = new Counter({ name: `${PREFIX}failures_total`, help: 'Failed job steps by error code', labelNames: ['code'], registers: [this.registry] });
  private readonly cycles = new Counter({ name: `${PREFIX}cycles_total`, help: 'Finished sync cycles by result', labelNames: ['result'], registers: [this.registry] });
  private readonly progressGauge = new Gauge({
    name: `${PREFIX}progress`,
    help: 'The archive being worked on now: done and total per stage (download|extract|verify|import) and measure (bytes|entries|records|files)',
    labelNames: ['stage', 'measure', 'kind'],
    registers: [this.registry],
  });
  private readonly progressStage = new Gauge({ name: `${PREFIX}progress_stage_started_timestamp_seconds`, help: 'When the current stage of the current archive started (Unix time), by stage', labelNames: ['stage'], registers: [this.registry] });
  private readonly live = {
    download: new Counter({ name: `${PREFIX}download_bytes_received_total`, help: 'Archive bytes received, counted as they arrive (rate() gives the download speed)', registers: [this.registry] }),
    extract: new Counter({ name: `${PREFIX}extract_bytes_written_total`, help: 'Plaintext bytes extracted, counted as they are written', registers: [this.registry] }),
    records: new Counter({ name: `${PREFIX}import_records_written_total`, help: 'Records written to MongoDB, counted per acknowledged batch', registers: [this.registry] }),
    files: new Counter({ name: `${PREFIX}import_files_written_total`, help: 'Media files written to GridFS, counted per file', registers: [this.registry] }),
  };
  private progressSeen: { fileName: string; stage: string; bytes: number; records: number; files: number } | undefined;
  private readonly retentionRuns = new Counter({ name: 'retention_runs_total', help: 'Finished retention runs (plans included) by outcome: done, failed or interrupted (a crash cut it short; counted when the next start marks it)', labelNames: ['outcome'], registers: [this.registry] });
  private readonly retentionRecords = new Counter({ name: 'retention_records_total', help: 'Records and media archived, destroyed or restored by retention', labelNames: ['action', 'dataType'], registers: [this.registry] });
  private readonly lastSuccess = new Gauge({ name: `${PREFIX}last_successful_cycle_timestamp_seconds`, help: 'When the last cycle that left nothing to do finished (Unix time)', registers: [this.registry] });

  private lastRetentionRun: Date | undefined;

  constructor(sources: MetricsSources) {
    const self = (): ProxyMetrics => this;
    new Gauge({
      name: 'retention_last_run_timestamp_seconds',
      help: 'When the last retention run that was not a plan finished, on any node (Unix time; 0 = never)',
      registers: [this.registry],
      async collect() {
        const at = sources.retentionLastRun ? await sources.retentionLastRun().catch(() => self().lastRetentionRun ?? null) : (self().lastRetentionRun ?? null);
        this.set(at ? at.getTime() / 1000 : 0);
      },
    });
    // Collectors run concurrently at scrape time: each reads its own source (the replica set status is cached upstream).
    new Gauge({
      name: `${PREFIX}database_up`,
      help: '1 when the database answered at this scrape',
      registers: [this.registry],
      async collect() { this.set(await sources.outboxDepth().then(() => 1, () => 0)); },
    });
    new Gauge({
      name: `${PREFIX}outbox_depth`,
      help: 'Status reports waiting for delivery to the vendor',
      registers: [this.registry],
      async collect() { await sources.outboxDepth().then((n) => this.set(n), () => undefined); },
    });
    // Without HA this process always leads: holder 1, token 0.
    const leaseOf = (pick: (s: LeaseStatus) => number, single: number): (this: Gauge) => void => function (this: Gauge) {
      const s = sources.lease();
      this.set(s ? pick(s) : single);
    };
    new Gauge({ name: `${PREFIX}ha_enabled`, help: '1 when this node takes part in the leader lease (ha.enabled)', registers: [this.registry], collect() { this.set(sources.lease() ? 1 : 0); } });
    new Gauge({ name: `${PREFIX}lease_holder`, help: '1 while this node holds the leader lease (pulls and imports)', registers: [this.registry], collect: leaseOf((s) => (s.holder ? 1 : 0), 1) });
    new Gauge({ name: `${PREFIX}lease_token`, help: 'Fencing token of the current leader term as this node knows it', registers: [this.registry], collect: leaseOf((s) => s.token ?? s.leader?.token ?? 0, 0) });
    new Gauge({
      name: `${PREFIX}replica_set_degraded`,
      help: '1 when a replica set member (e.g. a data-bearing PSA member) is down',
      registers: [this.registry],
      async collect() { this.set((await sources.replicaSet()).degraded ? 1 : 0); },
    });
    new Gauge({
      name: `${PREFIX}replica_set_majority_writable`,
      help: '1 when majority writes can be acknowledged; 0 means imports wait and nothing is reported',
      registers: [this.registry],
      async collect() {
        const w = (await sources.replicaSet()).majorityWritable;
        if (w === null) this.reset();
        else this.set(w ? 1 : 0);
      },
    });
    const disk = sources.disk?.bind(sources);
    if (disk) {
      const diskGauge = (name: string, help: string, value: (d: DiskStatus) => number | null): void => {
        new Gauge({
          name: `${PREFIX}${name}`, help, registers: [this.registry],
          async collect() {
            const v = value(await disk());
            if (v === null) this.reset();
            else this.set(v);
          },
        });
      };
      diskGauge('staging_free_bytes', 'Free bytes on the staging disk (statfs, as df shows them)', (d) => d.freeBytes);
      diskGauge('staging_reserve_bytes', 'Bytes kept free on the staging disk (staging.minFreeBytes)', (d) => d.reserveBytes);
      diskGauge('disk_full', '1 when the staging disk is below its reserve or an archive waits for space (DISK_FULL)', (d) => (d.full ? 1 : 0));
      diskGauge('archives_waiting_for_disk', 'Archives whose last attempt stopped with DISK_FULL', (d) => d.waiting.length);
    }
    new Gauge({
      name: `${PREFIX}replica_set_member_healthy`,
      help: 'Per replica set member: 1 when up and serving (PRIMARY/SECONDARY/ARBITER), labelled with its state',
      labelNames: ['member', 'state', 'data_bearing'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const rs = await sources.replicaSet();
        if (rs.kind !== 'replicaSet') return;
        for (const m of rs.members) this.set({ member: m.name, state: m.state, data_bearing: String(m.dataBearing) }, m.healthy ? 1 : 0);
      },
    });
    this.sweepGauges(sources);
  }

  private sweepGauges(sources: MetricsSources): void {
    const last = sources.lastSweep?.bind(sources);
    if (!last) return;
    new Gauge({
      name: `${PREFIX}integrity_last_sweep_timestamp_seconds`, help: 'When the last fixity sweep finished (Unix time); 0 before the first', registers: [this.registry],
      async collect() {
        const s = await last().catch(() => null);
        this.set(s ? s.finishedAt.getTime() / 1000 : 0);
      },
    });
    new Gauge({
      name: `${PREFIX}integrity_last_sweep_problems`, help: 'Problems the last fixity sweep found, by kind (changed, missing, untracked, tombstoned-present, tombstone-unproven, removed, inserted, unchained)', labelNames: ['kind'], registers: [this.registry],
      async collect() {
        this.reset();
        const s = await last().catch(() => null);
        if (s) for (const [kind, n] of Object.entries(s.problemCounts)) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: `${PREFIX}integrity_last_sweep_checked`, help: 'What the last fixity sweep re-hashed: records, media_files, media_bytes, audit_entries', labelNames: ['what'], registers: [this.registry],
      async collect() {
        this.reset();
        const s = await last().catch(() => null);
        if (!s) return;
        this.set({ what: 'records' }, s.counts.records);
        this.set({ what: 'media_files' }, s.counts.mediaFiles);
        this.set({ what: 'media_bytes' }, s.counts.mediaBytes);
        this.set({ what: 'audit_entries' }, s.counts.auditEntries);
      },
    });
  }

  /** Node.js process metrics (CPU, memory, event loop lag, ...) for the daemon; one-shot commands skip them. */
  enableProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  /** ProgressSink: the current archive's progress as gauges, and live counters for rates. */
  report(p: Progress): void {
    const seen = this.progressSeen;
    const sameStage = seen !== undefined && seen.fileName === p.fileName && seen.stage === p.stage;
    if (!sameStage) {
      this.progressGauge.reset();
      this.progressStage.reset();
      this.progressStage.set({ stage: p.stage }, p.startedAt / 1000);
    }
    const base = sameStage ? seen : { bytes: p.baseBytes ?? 0, records: 0, files: 0 };
    const bytes = p.bytes?.done ?? 0;
    const records = p.records?.done ?? 0;
    const files = p.files?.done ?? 0;
    if (p.stage === 'download' && bytes > base.bytes) this.live.download.inc(bytes - base.bytes);
    if (p.stage === 'extract' && bytes > base.bytes) this.live.extract.inc(bytes - base.bytes);
    if (p.stage === 'import') {
      if (records > base.records) this.live.records.inc(records - base.records);
      if (files > base.files) this.live.files.inc(files - base.files);
    }
    this.progressSeen = { fileName: p.fileName, stage: p.stage, bytes, records, files };
    for (const measure of ['bytes', 'entries', 'records', 'files'] as const) {
      const c = p[measure];
      if (!c) continue;
      this.progressGauge.set({ stage: p.stage, measure, kind: 'done' }, c.done);
      this.progressGauge.set({ stage: p.stage, measure, kind: 'total' }, c.total);
    }
  }

  finish(fileName: string): void {
    if (this.progressSeen?.fileName !== fileName) return;
    this.progressSeen = undefined;
    this.progressGauge.reset();
    this.progressStage.reset();
  }

  archivePulled(bytes: number): void {
    this.archivesPulled.inc();
    this.bytesPulled.inc(bytes);
  }

  archiveImported(records: number): void {
    this.archivesImported.inc();
    this.recordsImported.inc(records);
  }

  stageSeconds(stage: PipelineStage, seconds: number): void {
    this.stageDuration.observe({ stage }, seconds);
  }

  /** Retention (proxy/retention/runner.ts RetentionCounters). */
  runFinished(outcome: 'done' | 'failed' | 'interrupted', at: Date): void {
    this.retentionRuns.inc({ outcome });
    this.lastRetentionRun = at;
  }

  records(action: 'archived' | 'destroyed' | 'restored', dataType: string, n: number): void {
    this.retentionRecords.inc({ action, dataType }, n);
  }

  failure(code: ErrorCode): void {
    this.failures.inc({ code });
  }

  cycleFinished(ok: boolean, at: Date): void {
    this.cycles.inc({ result: ok ? 'ok' : 'incomplete' });
    if (ok) this.lastSuccess.set(at.getTime() / 1000);
  }

  /** The text exposition format and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
