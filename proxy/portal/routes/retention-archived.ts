import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../../errors.js';
import type { DataType } from '../../retention/index.js';
import type { ListTypeName } from '../queries/types.js';
import { audit, userOf } from '../access.js';
import type { PortalContext } from '../context.js';
import { AnyObjectBody, DataTypeSchema, ReasonBody, RecordStatusBody, RestoredBody, StatusParams, Tags, TypeIdParams } from './retention-schemas.js';

/** Archived data (admin: list, read, restore) and the retention status of any record (auditor). */
export async function retentionArchivedRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  const retention = ctx.retention;

  app.get('/api/v1/retention/archived', {
    config: { role: 'admin' },
    schema: {
      tags: Tags, summary: 'Archived records (or media) of one data type, cursor paginated',
      querystring: {
        type: 'object', required: ['type'], additionalProperties: false,
        properties: { type: DataTypeSchema, limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 }, cursor: { type: 'string', minLength: 1, maxLength: 2000 } },
      },
      response: { 200: { type: 'object', properties: { items: { type: 'array', items: AnyObjectBody }, nextCursor: { type: ['string', 'null'] } } } },
    },
  }, async (req) => {
    const { type, limit, cursor } = req.query as { type: DataType; limit: number; cursor?: string };
    return retention.listArchived(type, { limit, ...(cursor ? { cursor } : {}) });
  });

  app.get('/api/v1/retention/archived/:type/:id', {
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'One archived record with its provenance and archive mark (audited)', params: TypeIdParams, response: { 200: AnyObjectBody } },
  }, async (req) => {
    const { type, id } = req.params as { type: DataType; id: string };
    const detail = await retention.getArchived(type, id);
    await audit(ctx, req, { action: 'retention.archived.view', target: `${type}/${id}`, details: { runId: detail.archived.runId, policyId: detail.archived.policyId } });
    return detail;
  });

  app.post('/api/v1/retention/archived/:type/:id/restore', {
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'Restore one archived record (or media) to active', params: TypeIdParams, body: ReasonBody, response: { 200: RestoredBody } },
  }, async (req) => {
    const { type, id } = req.params as { type: DataType; id: string };
    const { reason } = req.body as { reason: string };
    const result = await retention.restoreRecord(type, id, reason, userOf(req).username);
    await audit(ctx, req, { action: 'retention.restore', target: `${type}/${id}`, details: { reason, restored: result.restored } });
    return result;
  });

  app.get('/api/v1/retention/record/:type/:id', {
    config: { role: 'auditor' },
    schema: {
      tags: Tags, summary: 'Which policy applies to a record, when it will be archived and destroyed, and its legal holds',
      params: StatusParams, response: { 200: RecordStatusBody },
    },
  }, async (req) => {
    const { type, id } = req.params as { type: ListTypeName | DataType; id: string };
    const status = await retention.recordStatus(type, id);
    // Auditors never learn of archived records (the same 404 as the record's own page).
    if (status.archived && userOf(req).role !== 'admin') throw new ProxyError('NOT_FOUND', `${type}/${id}`);
    return status;
  });
  await Promise.resolve();
}
