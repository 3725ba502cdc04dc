import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProxyError } from '../../errors.js';
import { audit } from '../access.js';
import type { PortalContext } from '../context.js';
import { csvStream, jsonArrayStream } from '../export/csv.js';
import { contentDisposition } from '../http/content-disposition.js';
import { LIST_DEFS, LIST_TYPES, listQuerySchema, type ListQuery, type ListTypeDef } from '../queries/types.js';
import { AnyObject, Page } from './schemas.js';

const IdParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } as const;

/** The request's filters, for the audit log (only what was set). */
export function filtersOf(query: ListQuery): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '' && k !== 'cursor') out[k] = v;
  return out;
}

export function attachment(reply: FastifyReply, fileName: string, type: string): FastifyReply {
  return reply.type(type).header('Content-Disposition', contentDisposition('attachment', fileName)).header('Cache-Control', 'no-store');
}

const stamp = (): string => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** Streams a filtered list as CSV or JSON (no limit: cursor -> rows -> text -> reply, with backpressure). */
export async function sendExport(ctx: PortalContext, def: ListTypeDef, req: FastifyRequest, reply: FastifyReply, format: 'csv' | 'json'): Promise<FastifyReply> {
  const query = req.query as ListQuery;
  await audit(ctx, req, { action: 'export', target: def.name, details: { format, filters: filtersOf(query) } });
  const rows = ctx.lists.rows(def, query);
  const name = `${def.name}-${stamp()}.${format}`;
  if (format === 'csv') return attachment(reply, name, 'text/csv; charset=utf-8').send(csvStream(def.columns, rows));
  return attachment(reply, name, 'application/json; charset=utf-8').send(jsonArrayStream(rows));
}

/** List, detail and CSV/JSON export of every record type (auditor). */
export async function recordRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  for (const type of LIST_TYPES) {
    const def = LIST_DEFS[type];
    const tags = [type];
    app.get(`/api/v1/${type}`, {
      config: { role: 'auditor' },
      schema: { tags, summary: `List ${type}`, querystring: listQuerySchema(def, { paged: true }), response: { 200: Page } },
    }, async (req) => {
      const query = req.query as ListQuery;
      // Validated already; the same query is checked again where the filter is built.
      const page = await ctx.lists.list(def, query);
      // Every list request returns record content: one entry each (`search` when it has `q`, else `list`), pages too.
      const searched = typeof query.q === 'string' && query.q !== '';
      await audit(ctx, req, { action: searched ? 'search' : 'list', target: type, details: { filters: filtersOf(query), results: page.items.length, ...(query.cursor !== undefined ? { page: 'next' } : {}) } });
      return page;
    });

    for (const format of ['csv', 'json'] as const) {
      app.get(`/api/v1/${type}/export.${format}`, {
        // no HEAD: it would run and audit an export whose bytes are never sent
        exposeHeadRoute: false,
        config: { role: 'auditor' },
        schema: { tags, summary: `Export ${type} as ${format.toUpperCase()}`, querystring: listQuerySchema(def, { paged: false }) },
      }, (req, reply) => sendExport(ctx, def, req, reply, format));
    }

    app.get(`/api/v1/${type}/:id`, {
      config: { role: 'auditor' },
      schema: { tags, summary: `One ${type} record with its provenance`, params: IdParam, response: { 200: AnyObject } },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const detail = await ctx.details.detail(def, id);
      if (!detail) throw new ProxyError('NOT_FOUND', `${type}/${id}`);
      await audit(ctx, req, { action: 'record.view', target: `${type}/${id}` });
      return detail;
    });
  }
  await Promise.resolve();
}
