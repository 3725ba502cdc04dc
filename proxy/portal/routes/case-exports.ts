import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../../errors.js';
import { audit, userOf } from '../access.js';
import type { PortalContext } from '../context.js';
import { CustodyTap } from '../export/custody-tap.js';
import { safeEntryName, zipExportStream } from '../export/zip-export.js';
import { CaseExport } from '../person/case-export.js';
import { CaseExportStore, exportView } from '../person/export-store.js';
import { personRange } from '../person/range.js';
import { TimelineService } from '../person/timeline.js';
import { attachment } from './records.js';
import { AnyObject } from './schemas.js';

const IdParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } } as const;
const CreateBody = {
  type: 'object',
  required: ['person'],
  additionalProperties: false,
  properties: {
    person: {
      type: 'object', required: ['kind', 'id'], additionalProperties: false,
      properties: { kind: { type: 'string', enum: ['contact', 'staff'] }, id: { type: 'string', minLength: 1, maxLength: 200 } },
    },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
  },
} as const;

/**
 * Case exports: prepare (POST), download once (the ZIP streams; its sha256 is computed on the way and recorded in
 * the export and the audit log before the response ends), then read the hash back (GET /exports/:id).
 */
export async function caseExportRoutes(app: FastifyInstance, { ctx, now = () => new Date() }: { ctx: PortalContext; now?: () => Date }): Promise<void> {
  const timeline = new TimelineService(ctx.db, ctx.names, ctx.lists.timeouts);
  const store = new CaseExportStore(ctx.db, now);

  app.post('/api/v1/exports', {
    config: { role: 'auditor' },
    schema: { tags: ['exports'], summary: 'Prepare a case export of one person and a date range', body: CreateBody, response: { 201: AnyObject } },
  }, async (req, reply) => {
    const body = req.body as { person: { kind: 'contact' | 'staff'; id: string }; from?: string; to?: string };
    const range = personRange(body, now());
    const person = await timeline.person(body.person.kind, body.person.id);
    if (!person) throw new ProxyError('NOT_FOUND', `${body.person.kind}/${body.person.id}`);
    const doc = await store.create(userOf(req), { person: { kind: person.kind, id: person.id, name: person.name }, ...range });
    return reply.code(201).send(exportView(doc));
  });

  app.get('/api/v1/exports/:id', {
    config: { role: 'auditor' },
    schema: { tags: ['exports'], summary: 'A case export: its query, state and, once downloaded, the ZIP\'s sha256', params: IdParam, response: { 200: AnyObject } },
  }, async (req) => exportView(await store.get((req.params as { id: string }).id, userOf(req))));

  app.get('/api/v1/exports/:id/download', {
    config: { role: 'auditor' },
    schema: { tags: ['exports'], summary: 'The case export ZIP (one download per prepared export)', params: IdParam },
  }, async (req, reply) => {
    const user = userOf(req);
    const doc = await store.claim((req.params as { id: string }).id, user);
    const target = `exports/${doc._id}`;
    const range = { from: doc.query.from, to: doc.query.to };
    const person = await timeline.person(doc.query.person.kind, doc.query.person.id);
    if (!person) {
      await store.abort(doc._id, 'the person is no longer visible', 0);
      throw new ProxyError('NOT_FOUND', `${doc.query.person.kind}/${doc.query.person.id}`);
    }
    const scope = await timeline.scope(person, range, ctx.lists.timeouts.exportMs);
    const query = { person: doc.query.person, from: range.from.toISOString(), to: range.to.toISOString() };
    // The start entry first: an export that never ends is still on record.
    await audit(ctx, req, { action: 'export', target, details: { format: 'zip', kind: 'case', phase: 'start', query } });
    const exp = new CaseExport(timeline, scope, { exportId: doc._id, exportedBy: { username: user.username, role: user.role }, exportedAt: now(), person, range });
    const zip = zipExportStream(exp.parts(), ctx.media, req.log, { manifest: () => exp.manifest() });
    const tap = new CustodyTap(
      async ({ sha256, size }) => {
        await store.finish(doc._id, { sha256, size });
        await audit(ctx, req, { action: 'export', target, details: { format: 'zip', kind: 'case', phase: 'done', query, sha256, size } });
      },
      async (reason, size) => {
        zip.destroy();
        await store.abort(doc._id, reason, size);
        await audit(ctx, req, { action: 'export', target, outcome: 'failed', details: { format: 'zip', kind: 'case', phase: 'aborted', query, reason, size } });
      },
    );
    zip.on('error', (err) => tap.destroy(err));
    zip.pipe(tap);
    return attachment(reply, `case-${safeEntryName(person.name ?? person.id)}-${doc._id.slice(0, 8)}.zip`, 'application/zip').send(tap);
  });
  await Promise.resolve();
}
