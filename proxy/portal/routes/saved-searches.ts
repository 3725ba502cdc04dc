import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../../errors.js';
import { audit, userOf } from '../access.js';
import type { PortalContext } from '../context.js';
import { LIST_DEFS, LIST_TYPES, listQuerySchema, type ListTypeName } from '../queries/types.js';
import { SAVED_SEARCHES_PER_USER } from '../saved-searches.js';

const SavedSearchBody = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    owner: { type: 'string' },
    name: { type: 'string' },
    list: { type: 'string' },
    query: { type: 'object', additionalProperties: { type: 'string' } },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

/** Each list's own query schema (compiled once per object by fastify's validator cache). */
const QUERY_SCHEMAS = Object.fromEntries(LIST_TYPES.map((t) => [t, listQuerySchema(LIST_DEFS[t], { paged: false })])) as Record<ListTypeName, Record<string, unknown>>;

/** Saved searches: a user's named list filters (auditor: own; admin: everyone's too). docs/portal-api.md. */
export async function savedSearchRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  const tags = ['saved-searches'];

  app.get('/api/v1/saved-searches', {
    config: { role: 'auditor' },
    schema: { tags, summary: 'My saved searches, newest first', response: { 200: { type: 'object', properties: { items: { type: 'array', items: SavedSearchBody } } } } },
  }, async (req) => ({ items: await ctx.savedSearches.listOwn(userOf(req).username) }));

  app.get('/api/v1/saved-searches/all', {
    config: { role: 'admin' },
    schema: {
      tags, summary: "Every user's saved searches with their owner (admin)",
      response: { 200: { type: 'object', properties: { items: { type: 'array', items: SavedSearchBody }, truncated: { type: 'boolean' } } } },
    },
  }, async () => ctx.savedSearches.listAll());

  app.post('/api/v1/saved-searches', {
    config: { role: 'auditor' },
    schema: {
      tags, summary: `Save the current filters of a list under a name (at most ${SAVED_SEARCHES_PER_USER} per user)`,
      body: {
        type: 'object', required: ['name', 'list', 'query'], additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
          list: { type: 'string', enum: [...LIST_TYPES] },
          query: { type: 'object', maxProperties: 30, additionalProperties: { type: 'string', maxLength: 200 } },
        },
      },
      response: { 201: SavedSearchBody },
    },
  }, async (req, reply) => {
    const { name, list, query } = req.body as { name: string; list: ListTypeName; query: Record<string, string> };
    const filters = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== ''));
    // The same rules as the list itself: only its parameters, valid values (sort, order, dates).
    if (!req.validateInput({ ...filters }, QUERY_SCHEMAS[list], 'querystring')) {
      throw new ProxyError('VALIDATION', `the filters are not valid for the ${list} list`);
    }
    const saved = await ctx.savedSearches.create(userOf(req).username, name, list, filters);
    await audit(ctx, req, { action: 'search.save', target: `saved-searches/${saved.id}`, details: { name: saved.name, list, filters } });
    return reply.code(201).send(saved);
  });

  app.delete('/api/v1/saved-searches/:id', {
    config: { role: 'auditor' },
    schema: { tags, summary: 'Delete a saved search (your own; admins any)', params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } },
  }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const user = userOf(req);
    const gone = await ctx.savedSearches.remove(id, { username: user.username, admin: user.role === 'admin' });
    await audit(ctx, req, { action: 'search.delete', target: `saved-searches/${gone.id}`, details: { name: gone.name, list: gone.list, owner: gone.owner } });
    return reply.code(204).send();
  });
  await Promise.resolve();
}
