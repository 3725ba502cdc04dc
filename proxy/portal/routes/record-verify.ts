import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../../errors.js';
import { verifyOneRecord } from '../../integrity/record-verify.js';
import { audit } from '../access.js';
import type { PortalContext } from '../context.js';
import { LIST_DEFS, LIST_TYPES } from '../queries/types.js';

const IdParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } as const;
const Result = {
  type: 'object',
  properties: {
    type: { type: 'string' }, id: { type: 'string' }, collection: { type: 'string' }, recordId: { type: 'string' },
    sha256Recorded: { type: ['string', 'null'] }, sha256Computed: { type: 'string' }, ok: { type: 'boolean' },
  },
} as const;

/**
 * `GET /api/v1/<type>/:id/verify`: the record's hash recomputed from what is stored vs `_retention.sha256`. Audited
 * as `record.verify` (details: `ok`, the recorded and computed hashes), like every look at a record.
 */
export async function recordVerifyRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  for (const type of LIST_TYPES) {
    const def = LIST_DEFS[type];
    app.get(`/api/v1/${type}/:id/verify`, {
      config: { role: 'auditor' },
      schema: { tags: [type], summary: `Re-hash one ${type} record and compare with its recorded sha256`, params: IdParam, response: { 200: Result } },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const result = await verifyOneRecord(ctx.db, def, id);
      if (!result) throw new ProxyError('NOT_FOUND', `${type}/${id}`);
      await audit(ctx, req, { action: 'record.verify', target: `${type}/${id}`, details: { ok: result.ok, sha256Recorded: result.sha256Recorded, sha256Computed: result.sha256Computed } });
      return result;
    });
  }
  await Promise.resolve();
}
