import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProxyError } from '../../errors.js';
import { audit, userOf } from '../access.js';
import type { PortalContext } from '../context.js';
import { CustodyTap } from '../export/custody-tap.js';
import { safeEntryName, zipExportStream } from '../export/zip-export.js';
import { CASE_RECORD_FILES, CaseExport, type CaseRecords } from '../person/case-export.js';
import { CaseExportStore, exportView, type CaseExportDoc } from '../person/export-store.js';
import { checkListFilters, listEntries } from '../person/list-export.js';
import { personRange } from '../person/range.js';
import { TIMELINE_SOURCES } from '../person/sources.js';
import { TimelineService } from '../person/timeline.js';
import { attachment } from './records.js';
import { AnyObject } from './schemas.js';

const IdParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } } as const;
const CreateBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    person: {
      type: 'object', required: ['kind', 'id'], additionalProperties: false,
      properties: { kind: { type: 'string', enum: ['contact', 'staff'] }, id: { type: 'string', minLength: 1, maxLength: 200 } },
    },
    list: {
      type: 'object', required: ['type'], additionalProperties: false,
      properties: { type: { type: 'string', maxLength: 40 }, filters: { type: 'object', additionalProperties: { type: 'string', maxLength: 200 }, maxProperties: 20 } },
    },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
  },
} as const;

interface CreateRequest { person?: { kind: 'contact' | 'staff'; id: string }; list?: { type: string; filters?: Record<string, string> }; from?: string; to?: string }

interface Prepared { exp: CaseExport; fileName: string; query: Record<string, unknown> }

/**
 * Case exports: prepare (POST) one person and a date range, or a list with its filters; download once (the ZIP
 * streams; its sha256 is computed on the way and recorded in the export and the audit log before the response ends);
 * then read the hash back (GET /exports/:id).
 */
export async function caseExportRoutes(app: FastifyInstance, { ctx, now = () => new Date() }: { ctx: PortalContext; now?: () => Date }): Promise<void> {
  const timeline = new TimelineService(ctx.db, ctx.names, ctx.lists.timeouts, ctx.lists.limits);
  const store = new CaseExportStore(ctx.db, now);
  // A case export keeps its media list and manifest in memory: its size is checked when it is prepared and again
  // when it is downloaded (EXPORT_TOO_LARGE then ends it aborted, audited).
  const maxEntries = ctx.lists.limits.maxExportEntries;
  const tooLarge = (records: number): void => {
    if (records > maxEntries) throw new ProxyError('EXPORT_TOO_LARGE', `more than ${maxEntries} records`);
  };

  /** What the ZIP holds, from the stored query; null when the person is no longer visible. */
  async function prepare(doc: CaseExportDoc, req: FastifyRequest): Promise<Prepared | null> {
    const user = userOf(req);
    const base = { exportId: doc._id, exportedBy: { username: user.username, role: user.role }, exportedAt: now() };
    if ('list' in doc.query) {
      const { def, query } = checkListFilters(doc.query.list.type, doc.query.list.filters);
      // Checked again at download: imports since the export was prepared may have grown what it holds.
      const built = await ctx.lists.filter(def, query);
      tooLarge(await ctx.db.collection(def.collection).countDocuments(built.filter, { limit: maxEntries + 1, maxTimeMS: ctx.lists.timeouts.queryMs }));
      const entries = () => listEntries(ctx.db, ctx.lists, def, query);
      const q = { list: def.name, filters: doc.query.list.filters };
      const exp = new CaseExport({ ...base, title: `Case export: ${def.name}`, query: q }, [{ path: `records/${def.name}.json`, counter: def.name, entries }], entries);
      return { exp, fileName: `case-${def.name}-${doc._id.slice(0, 8)}.zip`, query: q };
    }
    const range = { from: doc.query.from, to: doc.query.to };
    const person = await timeline.person(doc.query.person.kind, doc.query.person.id);
    if (!person) return null;
    const scope = await timeline.scope(person, range, ctx.lists.timeouts.exportMs);
    tooLarge(await timeline.count(scope, range, maxEntries + 1));
    const records: CaseRecords[] = TIMELINE_SOURCES.map((source) => ({ path: CASE_RECORD_FILES[source.type], counter: source.type, entries: () => timeline.ofSource(source, scope, range) }));
    const q = { person: doc.query.person, from: range.from.toISOString(), to: range.to.toISOString() };
    const exp = new CaseExport({ ...base, title: `Case export: ${person.name ?? person.id}`, query: q, person }, records, () => timeline.all(scope, range));
    return { exp, fileName: `case-${safeEntryName(person.name ?? person.id)}-${doc._id.slice(0, 8)}.zip`, query: q };
  }

  app.post('/api/v1/exports', {
    config: { role: 'auditor' },
    schema: { tags: ['exports'], summary: 'Prepare a case export: one person and a date range, or a list with its filters', body: CreateBody, response: { 201: AnyObject } },
  }, async (req, reply) => {
    const body = req.body as CreateRequest;
    if ((body.person === undefined) === (body.list === undefined)) throw new ProxyError('VALIDATION', 'give either person or list');
    if (body.list) {
      if (body.from !== undefined || body.to !== undefined) throw new ProxyError('VALIDATION', 'a list export takes its range in list.filters (from, to)');
      const filters = body.list.filters ?? {};
      const { def, query } = checkListFilters(body.list.type, filters);
      const built = await ctx.lists.filter(def, query);
      tooLarge(await ctx.db.collection(def.collection).countDocuments(built.filter, { limit: maxEntries + 1, maxTimeMS: ctx.lists.timeouts.queryMs }));
      return reply.code(201).send(exportView(await store.create(userOf(req), { list: { type: body.list.type, filters } })));
    }
    const { kind, id } = body.person as { kind: 'contact' | 'staff'; id: string };
    const range = personRange(body, now());
    const person = await timeline.person(kind, id);
    if (!person) throw new ProxyError('NOT_FOUND', `${kind}/${id}`);
    tooLarge(await timeline.count(await timeline.scope(person, range), range, maxEntries + 1));
    return reply.code(201).send(exportView(await store.create(userOf(req), { person: { kind: person.kind, id: person.id, name: person.name }, ...range })));
  });

  app.get('/api/v1/exports/:id', {
    config: { role: 'auditor' },
    schema: { tags: ['exports'], summary: 'A case export: its query, state and, once downloaded, the ZIP\'s sha256', params: IdParam, response: { 200: AnyObject } },
  }, async (req) => exportView(await store.get((req.params as { id: string }).id, userOf(req))));

  app.get('/api/v1/exports/:id/download', {
    // No HEAD (fastify exposes one for every GET): it would claim the one download and record the sha256 of bytes
    // never sent.
    exposeHeadRoute: false,
    config: { role: 'auditor' },
    schema: { tags: ['exports'], summary: 'The case export ZIP (one download per prepared export)', params: IdParam },
  }, async (req, reply) => {
    const doc = await store.claim((req.params as { id: string }).id, userOf(req));
    const target = `exports/${doc._id}`;
    let query: unknown = doc.query;
    const aborted = async (reason: string, size: number): Promise<void> => {
      await store.abort(doc._id, reason, size);
      await audit(ctx, req, { action: 'export', target, outcome: 'failed', details: { format: 'zip', kind: 'case', phase: 'aborted', query, reason, size } });
    };
    // From the claim to the first byte: whatever fails ends the export `aborted` (never `streaming` for ever).
    try {
      const prepared = await prepare(doc, req);
      if (!prepared) throw new ProxyError('NOT_FOUND', `${target}: the person is no longer visible`);
      const { exp, fileName } = prepared;
      query = prepared.query;
      // The start entry first: an export that never ends is still on record.
      await audit(ctx, req, { action: 'export', target, details: { format: 'zip', kind: 'case', phase: 'start', query } });
      const zip = zipExportStream(exp.parts(), ctx.media, req.log, { manifest: () => exp.manifest() });
      const tap = new CustodyTap(
        async ({ sha256, size }) => {
          // the audit entry first: a `done` export always has its hash in the audit log (a failure aborts it)
          await audit(ctx, req, { action: 'export', target, details: { format: 'zip', kind: 'case', phase: 'done', query, sha256, size } });
          await store.finish(doc._id, { sha256, size });
        },
        async (reason, size) => {
          zip.destroy();
          await aborted(reason, size);
        },
      );
      zip.on('error', (err) => tap.destroy(err));
      zip.pipe(tap);
      return attachment(reply, fileName, 'application/zip').send(tap);
    } catch (err) {
      await aborted(err instanceof Error ? err.message : String(err), 0).catch((e: unknown) => req.log.error({ err: e }, 'case export: recording the abort failed'));
      throw err;
    }
  });
  await Promise.resolve();
}
