import type { FastifyInstance } from 'fastify';
import type { Db } from 'mongodb';
import type { Outbox } from '../db/outbox.js';
import type { RunnerStatus } from '../pipeline/sync-runner.js';

export interface HealthRoutesOptions { db: Db; outbox: Outbox; runnerStatus: () => RunnerStatus }

const ReadySchema = {
  type: 'object',
  properties: {
    ready: { type: 'boolean' },
    database: { type: 'string', enum: ['ok', 'unreachable'] },
    outboxDepth: { type: ['integer', 'null'] },
    sync: {
      type: 'object',
      additionalProperties: true,
      properties: { running: { type: 'boolean' }, lastOk: { type: 'boolean' }, lastSuccessAt: { type: 'string' }, lastFinishedAt: { type: 'string' } },
    },
  },
} as const;

/** Liveness (the process answers) and readiness (database reachable; last cycle). */
export async function healthRoutes(app: FastifyInstance, opts: HealthRoutesOptions): Promise<void> {
  app.get('/healthz', { config: { role: 'public' }, schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, () => ({ ok: true }));

  app.get('/readyz', { config: { role: 'public' }, schema: { response: { 200: ReadySchema, 503: ReadySchema } } }, async (_req, reply) => {
    let database: 'ok' | 'unreachable' = 'ok';
    let outboxDepth: number | null = null;
    try {
      await opts.db.command({ ping: 1 }, { timeoutMS: 2000 });
      outboxDepth = await opts.outbox.depth();
    } catch {
      database = 'unreachable';
    }
    const ready = database === 'ok';
    return reply.code(ready ? 200 : 503).send({ ready, database, outboxDepth, sync: opts.runnerStatus() });
  });
  await Promise.resolve();
}
