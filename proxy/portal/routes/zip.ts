import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../../errors.js';
import { audit } from '../access.js';
import type { PortalContext } from '../context.js';
import { safeEntryName, zipExportStream, type ZipPart } from '../export/zip-export.js';
import type { Row } from '../queries/rows.js';
import { LIST_DEFS, type ListQuery } from '../queries/types.js';
import { attachment } from './records.js';

const IdParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } as const;

/** Passes rows through and notes every file they point at (attachments, recordings, voicemails). */
async function* noting(rows: AsyncIterable<Row>, files: Map<string, string>): AsyncGenerator<Row> {
  for await (const row of rows) {
    if (Array.isArray(row.attachments)) {
      for (const a of row.attachments as { fileId?: unknown; name?: unknown }[]) if (typeof a.fileId === 'string') files.set(a.fileId, typeof a.name === 'string' ? a.name : a.fileId);
    }
    for (const key of ['recordingFileId', 'voicemailFileId']) if (typeof row[key] === 'string') files.set(row[key], files.get(row[key]) ?? row[key]);
    if (typeof row.fileId === 'string' && typeof row.name === 'string') files.set(row.fileId, row.name);
    yield row;
  }
}

/** The files of an enquiry or room ZIP, in order; media last (their ids are collected while the records stream). */
function* exportParts(ctx: PortalContext, kind: 'enquiry' | 'room', head: Record<string, unknown>, roomId: string | undefined, by: ListQuery): Generator<ZipPart> {
  const files = new Map<string, string>();
  yield { path: `${kind}.json`, json: head };
  yield { path: 'messages.json', rows: noting(ctx.lists.rows(LIST_DEFS.messages, { ...by, sort: 'sentAt', order: 'asc' }), files) };
  yield { path: 'calls.json', rows: noting(ctx.lists.rows(LIST_DEFS.calls, { ...by, sort: 'startedAt', order: 'asc' }), files) };
  if (roomId) {
    yield { path: 'conferences.json', rows: noting(ctx.lists.rows(LIST_DEFS.conferences, { room: roomId, sort: 'startedAt', order: 'asc' }), files) };
    yield { path: 'files.json', rows: noting(ctx.lists.rows(LIST_DEFS.files, { room: roomId, sort: 'uploadedAt', order: 'asc' }), files) };
  }
  // the vendor's fileId is made safe like the name: neither may climb out of media/ (zip slip)
  for (const [fileId, name] of files) yield { path: `media/${safeEntryName(fileId)}-${safeEntryName(name)}`, media: { fileId } };
}

/**
 * An enquiry or a room as a ZIP with its records, media and a sha256 manifest (auditor; audited). No HEAD (fastify
 * exposes one for every GET): it would audit an export whose bytes are never sent.
 */
export async function zipRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  app.get('/api/v1/enquiries/:id/export.zip', { exposeHeadRoute: false, config: { role: 'auditor' }, schema: { tags: ['enquiries'], params: IdParam } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const detail = await ctx.details.detail(LIST_DEFS.enquiries, id);
    if (!detail) throw new ProxyError('NOT_FOUND', `enquiries/${id}`);
    const roomId = typeof detail.item.roomId === 'string' ? detail.item.roomId : undefined;
    await audit(ctx, req, { action: 'export', target: `enquiries/${id}`, details: { format: 'zip' } });
    const head = { enquiry: detail.item, provenance: detail.provenance, room: detail.room ?? null };
    return attachment(reply, `enquiry-${safeEntryName(id)}.zip`, 'application/zip').send(zipExportStream(exportParts(ctx, 'enquiry', head, roomId, { enquiry: id }), ctx.media, req.log));
  });

  app.get('/api/v1/rooms/:id/export.zip', { exposeHeadRoute: false, config: { role: 'auditor' }, schema: { tags: ['rooms'], params: IdParam } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const detail = await ctx.details.detail(LIST_DEFS.rooms, id);
    if (!detail) throw new ProxyError('NOT_FOUND', `rooms/${id}`);
    await audit(ctx, req, { action: 'export', target: `rooms/${id}`, details: { format: 'zip' } });
    const head = { room: detail.item, provenance: detail.provenance, stats: detail.stats };
    return attachment(reply, `room-${safeEntryName(id)}.zip`, 'application/zip').send(zipExportStream(exportParts(ctx, 'room', head, id, { room: id }), ctx.media, req.log));
  });
  await Promise.resolve();
}
