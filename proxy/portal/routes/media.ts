import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../../errors.js';
import { audit, userOf } from '../access.js';
import type { PortalContext } from '../context.js';
import { contentDisposition } from '../http/content-disposition.js';
import { mediaDelivery } from '../http/media-policy.js';
import { MEDIA_CSP } from '../http/security-headers.js';
import { sessionTag, startsPlayback } from '../playback.js';
import { parseRange } from '../range.js';

const FileParam = { type: 'object', required: ['fileId'], properties: { fileId: { type: 'string', minLength: 1, maxLength: 200 } } } as const;

/** Media from GridFS with byte ranges (players seek), and a re-hash check (auditor). */
export async function mediaRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  app.get('/api/v1/media/:fileId', {
    config: { role: 'auditor' },
    schema: {
      tags: ['media'],
      params: FileParam,
      querystring: { type: 'object', additionalProperties: false, properties: { download: { type: 'string', enum: ['0', '1', 'true', 'false'] } } },
    },
  }, async (req, reply) => {
    const { fileId } = req.params as { fileId: string };
    const download = ['1', 'true'].includes((req.query as { download?: string }).download ?? '');
    const file = await ctx.media.describe(fileId);
    const range = parseRange(req.headers.range, file.length);
    // Vendor-supplied bytes: only audio, video and raster images are inline, all of it sandboxed and never sniffed.
    const delivery = mediaDelivery(file.mimeType, download);
    void reply
      .header('Content-Security-Policy', MEDIA_CSP)
      .header('Accept-Ranges', 'bytes')
      .header('Cache-Control', 'private, no-cache')
      .header('Content-Disposition', delivery.disposition === 'inline' ? 'inline' : contentDisposition('attachment', file.name));
    // Only the hash computed at import, and only when it is 64 hex digits: the vendor's record may hold anything.
    const etag = file.storedSha256 === undefined ? undefined : `"${file.storedSha256}"`;
    if (file.storedSha256 !== undefined) void reply.header('ETag', etag).header('X-Content-SHA256', file.storedSha256);
    if (range === 'unsatisfiable') {
      void reply.header('Content-Range', `bytes */${file.length}`);
      throw new ProxyError('RANGE_NOT_SATISFIABLE', `${req.headers.range ?? ''} of ${file.length} bytes`);
    }
    // A player sends many range requests while seeking: one entry per playback (see startsPlayback).
    const action = download ? 'media.download' : 'media.play';
    const who = { user: userOf(req).username, session: sessionTag(userOf(req).token) };
    // A HEAD (fastify answers it with this handler, without the body) reads no content: not a playback or download.
    if (req.method !== 'HEAD' && await startsPlayback(ctx.audit, range, who, action, `media/${fileId}`)) {
      await audit(ctx, req, { action, target: `media/${fileId}`, details: { name: file.name, sha256: file.sha256, session: who.session, ...(range ? { range: `${range.start}-${range.end}` } : {}) } });
    }
    if (etag !== undefined && req.headers['if-none-match'] === etag && !range) return reply.code(304).send();
    void reply.type(delivery.contentType);
    if (!range) return reply.header('Content-Length', String(file.length)).send(ctx.media.open(file));
    return reply
      .code(206)
      .header('Content-Range', `bytes ${range.start}-${range.end}/${file.length}`)
      .header('Content-Length', String(range.end - range.start + 1))
      .send(ctx.media.open(file, range));
  });

  app.get('/api/v1/media/:fileId/verify', {
    config: { role: 'auditor' },
    schema: {
      tags: ['media'],
      params: FileParam,
      response: { 200: { type: 'object', properties: { fileId: { type: 'string' }, sha256Recorded: { type: 'string' }, sha256Computed: { type: 'string' }, ok: { type: 'boolean' } } } },
    },
  }, async (req) => {
    const result = await ctx.media.verify((req.params as { fileId: string }).fileId);
    await audit(ctx, req, { action: 'media.verify', target: `media/${result.fileId}`, details: { ok: result.ok }, ...(result.ok ? {} : { outcome: 'failed' as const }) });
    return result;
  });
  await Promise.resolve();
}
