import type { FastifyInstance } from 'fastify';
import type { HoldScope } from '../../retention/index.js';
import { audit, userOf } from '../access.js';
import type { PortalContext } from '../context.js';
import { safeEntryName, zipExportStream } from '../export/zip-export.js';
import { attachment } from './records.js';
import { AnyObjectBody, HoldCreateBody, IdParam, ItemsOf, ReasonBody, Tags, holdView } from './retention-schemas.js';

interface HoldBody {
  name: string;
  reason: string;
  scope: { staff?: string[]; contacts?: string[]; rooms?: string[]; enquiries?: string[]; from?: string; to?: string };
}

/** The API's scope (ISO dates) as the service takes it (Dates). */
function holdScope(s: HoldBody['scope']): HoldScope {
  const { from, to, ...lists } = s;
  return { ...lists, ...(from ? { from: new Date(from) } : {}), ...(to ? { to: new Date(to) } : {}) };
}

/** Legal holds (admin; placing, releasing and exporting are audited). */
export async function retentionHoldRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  const retention = ctx.retention;

  app.get('/api/v1/retention/holds', {
    config: { role: 'admin' },
    schema: {
      tags: Tags, summary: 'Legal holds, active (default) or released',
      querystring: { type: 'object', additionalProperties: false, properties: { state: { type: 'string', enum: ['active', 'released'], default: 'active' } } },
      response: { 200: ItemsOf },
    },
  }, async (req) => {
    const { state } = req.query as { state: 'active' | 'released' };
    return { items: (await retention.listHolds(state)).map(holdView) };
  });

  app.post('/api/v1/retention/holds', {
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'Place a legal hold', body: HoldCreateBody, response: { 201: AnyObjectBody } },
  }, async (req, reply) => {
    const body = req.body as HoldBody;
    const hold = await retention.createHold({ name: body.name, reason: body.reason, scope: holdScope(body.scope) }, userOf(req).username);
    await audit(ctx, req, { action: 'retention.hold.create', target: `retention/holds/${hold._id}`, details: { name: hold.name, reason: hold.reason, scope: body.scope } });
    return reply.code(201).send(holdView(hold));
  });

  app.post('/api/v1/retention/holds/:id/release', {
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'Release a legal hold (its data becomes eligible at the next run)', params: IdParam, body: ReasonBody, response: { 200: AnyObjectBody } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const { reason } = req.body as { reason: string };
    const hold = await retention.releaseHold(id, reason, userOf(req).username);
    await audit(ctx, req, { action: 'retention.hold.release', target: `retention/holds/${id}`, details: { name: hold.name, reason } });
    return holdView(hold);
  });

  app.get('/api/v1/retention/holds/:id/export.zip', {
    exposeHeadRoute: false, // a HEAD would audit an export whose bytes are never sent
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'Every held record and its media as a ZIP with a sha256 manifest', params: IdParam },
  }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const hold = await retention.getHold(id);
    const parts = await retention.holdExportParts(id);
    await audit(ctx, req, { action: 'retention.hold.export', target: `retention/holds/${id}`, details: { name: hold.name, format: 'zip' } });
    return attachment(reply, `legal-hold-${safeEntryName(hold.name)}.zip`, 'application/zip').send(zipExportStream(parts, ctx.media, req.log));
  });
  await Promise.resolve();
}
