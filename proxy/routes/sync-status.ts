import type { FastifyInstance } from 'fastify';
import type { JobStore } from '../db/jobs.js';

export interface SyncStatusRoutesOptions { jobs: JobStore }

const JobRow = {
  type: 'object',
  properties: {
    fileName: { type: 'string' },
    jobId: { type: 'string' },
    siteId: { type: 'string' },
    archiveCreatedAt: { type: 'string', format: 'date-time' },
    state: { type: 'string' },
    bytes: { type: 'integer' },
    fileCount: { type: 'integer' },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

/** The local backup log: one row per archive with its state (the portal's Sync status view reads this). */
export async function syncStatusRoutes(app: FastifyInstance, opts: SyncStatusRoutesOptions): Promise<void> {
  app.get(
    '/api/v1/sync/jobs',
    {
      schema: {
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } }, additionalProperties: false },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: JobRow } } } },
      },
    },
    async (req) => {
      const { limit } = req.query as { limit: number };
      const items = await opts.jobs.col.find({}).sort({ archiveCreatedAt: -1 }).limit(limit).toArray();
      return {
        items: items.map((j) => ({
          fileName: j.fileName,
          jobId: j.jobId,
          siteId: j.siteId,
          archiveCreatedAt: j.archiveCreatedAt.toISOString(),
          state: j.state,
          bytes: j.bytes ?? j.remoteSize,
          fileCount: j.fileCount ?? 0,
          ...(j.error ? { error: { code: j.error.code, message: j.error.message } } : {}),
          updatedAt: j.updatedAt.toISOString(),
        })),
      };
    },
  );
  await Promise.resolve();
}
