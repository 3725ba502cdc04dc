import type { FastifyInstance } from 'fastify';
import type { Db } from 'mongodb';
import { ProgressDocs, type StoredProgress } from '../db/job-progress.js';
import { JOB_STATES, type JobDoc, type JobState, type JobStore } from '../db/jobs.js';
import { copiesDifferError } from '../pipeline/discover.js';
import type { Outbox } from '../db/outbox.js';
import { readSyncHistory } from '../db/job-history.js';
import { probeDatabase } from '../db/probe.js';
import { progressView, type ProgressView } from '../pipeline/progress-store.js';
import type { RunnerStatus } from '../pipeline/sync-runner.js';

export interface SyncStatusRoutesOptions {
  jobs: JobStore;
  db: Db;
  outbox: Outbox;
  runnerStatus: () => RunnerStatus;
  /** The portal's record indexes still building on this node (portal/index-build.ts); omitted: no `indexes`. */
  indexes?: () => { building: string[]; failed: string[] };
  /** Server-side time limit of the backup log and history queries (portal.queryTimeoutMs; default 15 s). */
  queryTimeoutMs?: number;
  now?: () => Date;
}

/** The vendor dashboard's wording for a job state. */
export function vendorStatus(state: JobState): 'Discovered' | 'Downloading' | 'Data Downloaded' | 'Failed' {
  switch (state) {
    case 'discovered':
      return 'Discovered';
    case 'downloading':
    case 'downloaded':
    case 'importing':
    case 'imported':
      return 'Downloading';
    case 'reported':
      return 'Data Downloaded';
    case 'failed':
      return 'Failed';
  }
}

const CountSchema = { type: 'object', properties: { done: { type: 'integer' }, total: { type: 'integer' } } } as const;
const ProgressSchema = {
  type: 'object',
  properties: {
    stage: { type: 'string', enum: ['download', 'extract', 'verify', 'import'] },
    percent: { type: ['integer', 'null'] },
    bytes: CountSchema,
    entries: CountSchema,
    records: CountSchema,
    files: CountSchema,
    rate: { type: ['integer', 'null'] },
    startedAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    node: { type: 'string' },
  },
} as const;

const HistorySchema = {
  type: 'object',
  properties: {
    from: { type: 'string' },
    to: { type: 'string' },
    truncated: { type: 'boolean' },
    days: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          day: { type: 'string' }, archives: { type: 'integer' }, records: { type: 'integer' }, bytes: { type: 'integer' },
          durationMs: { type: 'integer' }, failed: { type: 'integer' },
        },
      },
    },
  },
} as const;

const JobRow = {
  type: 'object',
  properties: {
    fileName: { type: 'string' },
    jobId: { type: 'string' },
    siteId: { type: 'string' },
    archiveCreatedAt: { type: 'string', format: 'date-time' },
    state: { type: 'string', enum: [...JOB_STATES] },
    status: { type: 'string', enum: ['Discovered', 'Downloading', 'Data Downloaded', 'Failed'] },
    bytes: { type: 'integer' },
    fileCount: { type: 'integer' },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
    updatedAt: { type: 'string', format: 'date-time' },
    reportedAt: { type: 'string', format: 'date-time' },
    progress: ProgressSchema,
  },
} as const;

const ROW_FIELDS = Object.fromEntries(
  ['fileName', 'jobId', 'siteId', 'archiveCreatedAt', 'state', 'bytes', 'remoteSize', 'fileCount', 'error', 'updatedAt', 'reportedAt', 'progress', 'copies'].map((f) => [f, 1]),
);

function withProgress(state: JobState, stored: StoredProgress | undefined): { progress?: ProgressView } {
  const progress = progressView(state, stored);
  return progress ? { progress } : {};
}

/** The local backup log (one row per archive, with the vendor's status wording) and the proxy's health (admin). */
export async function syncStatusRoutes(app: FastifyInstance, opts: SyncStatusRoutesOptions): Promise<void> {
  const progressDocs = new ProgressDocs(opts.db);
  app.get(
    '/api/v1/sync/jobs',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['sync'],
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 }, state: { type: 'string', enum: [...JOB_STATES] } },
          additionalProperties: false,
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: JobRow } } } },
      },
    },
    async (req) => {
      const { limit, state } = req.query as { limit: number; state?: JobState };
      const errorOf = (j: JobDoc): { code: string; message: string } | undefined => (j.error ? { code: j.error.code, message: j.error.message } : copiesDifferError(j));
      // The page asks every 2 s while an archive is in flight: only the fields a row shows (not the history).
      const items = await opts.jobs.col
        .find(state ? { state } : {}, { projection: ROW_FIELDS, maxTimeMS: opts.queryTimeoutMs ?? 15_000 })
        .sort({ archiveCreatedAt: -1 })
        .limit(limit)
        .toArray();
      const inFlight = items.filter((j) => j.state === 'downloading' || j.state === 'importing').map((j) => j.fileName);
      const progress = await progressDocs.of(inFlight, opts.queryTimeoutMs ?? 15_000);
      return {
        items: items.map((j) => ({
          fileName: j.fileName,
          jobId: j.jobId,
          siteId: j.siteId,
          archiveCreatedAt: j.archiveCreatedAt.toISOString(),
          state: j.state,
          status: vendorStatus(j.state),
          bytes: j.bytes ?? j.remoteSize,
          fileCount: j.fileCount ?? 0,
          ...(errorOf(j) ? { error: errorOf(j) } : {}),
          updatedAt: j.updatedAt.toISOString(),
          ...(j.reportedAt ? { reportedAt: j.reportedAt.toISOString() } : {}),
          ...withProgress(j.state, progress.get(j.fileName)),
        })),
      };
    },
  );

  app.get(
    '/api/v1/sync/health',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['sync'],
        response: {
          200: {
            type: 'object',
            properties: {
              database: { type: 'string', enum: ['ok', 'unreachable'] },
              running: { type: 'boolean' },
              outboxDepth: { type: ['integer', 'null'] },
              lastCycle: { type: 'object', additionalProperties: true },
              indexes: {
                type: 'object',
                properties: { building: { type: 'array', items: { type: 'string' } }, failed: { type: 'array', items: { type: 'string' } } },
              },
            },
          },
        },
      },
    },
    async () => {
      const { running, ...lastCycle } = opts.runnerStatus();
      return { ...(await probeDatabase(opts.db, opts.outbox)), running, lastCycle, ...(opts.indexes ? { indexes: opts.indexes() } : {}) };
    },
  );

  app.get(
    '/api/v1/sync/history',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['sync'],
        querystring: {
          type: 'object',
          properties: { days: { type: 'integer', minimum: 1, maximum: 90, default: 30 } },
          additionalProperties: false,
        },
        response: { 200: HistorySchema },
      },
    },
    async (req) => {
      const { days } = req.query as { days: number };
      return readSyncHistory(opts.jobs.col, (opts.now ?? (() => new Date()))(), days, opts.queryTimeoutMs ?? 15_000);
    },
  );
  await Promise.resolve();
}
