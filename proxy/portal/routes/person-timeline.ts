import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../../errors.js';
import { audit } from '../access.js';
import type { PortalContext } from '../context.js';
import { personRange } from '../person/range.js';
import { TIMELINE_MAX_LIMIT, TimelineService } from '../person/timeline.js';
import { AnyObject } from './schemas.js';

const IdParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } as const;
const TimelineQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', format: 'date-time', description: 'Start of the range (default: `to` minus 7 days)' },
    to: { type: 'string', format: 'date-time', description: 'End of the range (default: now)' },
    limit: { type: 'integer', minimum: 1, maximum: TIMELINE_MAX_LIMIT, default: 50 },
    cursor: { type: 'string', maxLength: 2000 },
  },
} as const;

const PEOPLE = [{ list: 'contacts', kind: 'contact' }, { list: 'staff', kind: 'staff' }] as const;

/** A contact's or staff member's timeline: every record involving them in a date range, merged in time order. */
export async function personTimelineRoutes(app: FastifyInstance, { ctx, now = () => new Date() }: { ctx: PortalContext; now?: () => Date }): Promise<void> {
  const timeline = new TimelineService(ctx.db, ctx.names, ctx.lists.timeouts, ctx.lists.limits);
  for (const { list, kind } of PEOPLE) {
    app.get(`/api/v1/${list}/:id/timeline`, {
      config: { role: 'auditor' },
      schema: { tags: [list], summary: `Everything involving one ${kind}, in time order (paginated)`, params: IdParam, querystring: TimelineQuery, response: { 200: AnyObject } },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const query = req.query as { from?: string; to?: string; limit?: number; cursor?: string };
      const range = personRange(query, now());
      const person = await timeline.person(kind, id);
      if (!person) throw new ProxyError('NOT_FOUND', `${list}/${id}`);
      const scope = await timeline.scope(person, range);
      const page = await timeline.page(scope, range, { limit: query.limit ?? 50, cursor: query.cursor });
      await audit(ctx, req, {
        action: 'list', target: `${list}/${id}/timeline`,
        details: { filters: { from: range.from.toISOString(), to: range.to.toISOString() }, results: page.items.length, ...(query.cursor !== undefined ? { page: 'next' } : {}) },
      });
      return { person: { kind, id, name: person.name, versions: person.versions.length }, range, ...page };
    });
  }
  await Promise.resolve();
}
