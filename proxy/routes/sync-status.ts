import type { FastifyInstance } from 'fastify';
import type { Db } from 'mongodb';
import { JOB_STATES, type JobDoc, type JobState, type JobStore } from '../db/jobs.js';
import { copiesDifferError } from '../pipeline/discover.js';
import type { Outbox } from '../db/outbox.js';
import { probeDatabase } from '../db/probe.js';
import type { RunnerStatus } from '../pipeline/sync-runner.js';

export interface SyncStatusRoutesOptions { jobs: JobStore; db: Db; outbox: Outbox; runnerStatus: () => RunnerStatus }

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
  },
} as const;

/** The local backup log (one row per archive, with the vendor's status wording) and the proxy's health (admin). */
export async function syncStatusRoutes(app: FastifyInstance, opts: SyncStatusRoutesOptions): Promise<void> {
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
      const items = await opts.jobs.col.find(state ? { state } : {}).sort({ archiveCreatedAt: -1 }).limit(limit).toArray();
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
            },
          },
        },
      },
    },
    async () => {
      const { running, ...lastCycle } = opts.runnerStatus();
      return { ...(await probeDatabase(opts.db, opts.outbox)), running, lastCycle };
    },
  );
  await Promise.resolve();
}
