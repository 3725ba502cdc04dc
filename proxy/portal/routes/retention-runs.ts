import type { FastifyInstance } from 'fastify';
import { audit, userOf } from '../access.js';
import type { PortalContext } from '../context.js';
import { AnyObjectBody, IdParam, ItemsOf, ReasonBody, RestoredBody, RunIdBody, Tags, runView } from './retention-schemas.js';

/** Retention runs (admin): the history with plans, "run now" and restoring what a run archived. */
export async function retentionRunRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  const retention = ctx.retention;

  app.get('/api/v1/retention/runs', {
    config: { role: 'admin' },
    schema: {
      tags: Tags, summary: 'Runs, newest first',
      querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 } } },
      response: { 200: ItemsOf },
    },
  }, async (req) => {
    const { limit } = req.query as { limit: number };
    return { items: (await retention.listRuns(limit)).map(runView) };
  });

  app.get('/api/v1/retention/runs/:id', {
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'One run with its plan per policy, what it did and its errors', params: IdParam, response: { 200: AnyObjectBody } },
  }, async (req) => runView(await retention.getRun((req.params as { id: string }).id)));

  app.post('/api/v1/retention/runs', {
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'Run now (every policy; on the HA leader only)', response: { 202: RunIdBody } },
  }, async (req, reply) => {
    const user = userOf(req).username;
    const { runId } = await retention.startRun({ trigger: 'manual', requestedBy: user });
    await audit(ctx, req, { action: 'retention.run', target: `retention/runs/${runId}`, details: { trigger: 'manual' } });
    return reply.code(202).send({ runId });
  });

  app.post('/api/v1/retention/runs/:id/restore', {
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'Restore everything a run archived to active', params: IdParam, body: ReasonBody, response: { 200: RestoredBody } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const { reason } = req.body as { reason: string };
    const result = await retention.restoreRun(id, reason, userOf(req).username);
    await audit(ctx, req, { action: 'retention.restore', target: `retention/runs/${id}`, details: { reason, restored: result.restored } });
    return result;
  });
  await Promise.resolve();
}
