import type { FastifyInstance } from 'fastify';
import { AUDIT_LIST } from '../audit.js';
import type { PortalContext } from '../context.js';
import { listQuerySchema } from '../queries/types.js';
import { sendExport } from './records.js';
import { Page } from './schemas.js';

/** The audit log: browse and export (admin). */
export async function auditRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  app.get('/api/v1/audit', {
    config: { role: 'admin' },
    schema: { tags: ['audit'], querystring: listQuerySchema(AUDIT_LIST, { paged: true }), response: { 200: Page } },
  }, (req) => ctx.lists.list(AUDIT_LIST, req.query as Record<string, string>));

  for (const format of ['csv', 'json'] as const) {
    app.get(`/api/v1/audit/export.${format}`, {
      exposeHeadRoute: false, // a HEAD would audit an export whose bytes are never sent
      config: { role: 'admin' },
      schema: { tags: ['audit'], querystring: listQuerySchema(AUDIT_LIST, { paged: false }) },
    }, (req, reply) => sendExport(ctx, AUDIT_LIST, req, reply, format));
  }
  await Promise.resolve();
}
