import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { DIGESTS_COLLECTION } from '../../integrity/digest.js';
import type { DigestDoc } from '../../integrity/digest-service.js';
import type { PortalContext } from '../context.js';

const Limit = { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } } as const;
const DigestItem = {
  type: 'object',
  properties: {
    day: { type: 'string' }, site: { type: 'string' }, archives: { type: 'array', items: { type: 'string' } },
    records: { type: 'integer' }, files: { type: 'integer' }, merkleRoot: { type: 'string' },
    auditHead: { type: ['object', 'null'], properties: { seq: { type: 'integer' }, hash: { type: 'string' } } },
    createdAt: { type: 'string' }, line: { type: 'string' }, lineSha256: { type: 'string' },
  },
} as const;

/** The integrity digests (admin): the newest first, and all of them as the text file a customer keeps. */
export async function integrityRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  const col = ctx.db.collection<DigestDoc>(DIGESTS_COLLECTION);

  app.get('/api/v1/integrity/digests', {
    config: { role: 'admin' },
    schema: { tags: ['integrity'], summary: 'Daily integrity digests, newest first', querystring: Limit, response: { 200: { type: 'object', properties: { items: { type: 'array', items: DigestItem } } } } },
  }, async (req) => {
    const { limit } = req.query as { limit: number };
    const items = await col.find({}, { projection: { _id: 0 }, sort: { createdAt: -1 }, limit }).toArray();
    return { items };
  });

  app.get('/api/v1/integrity/digests.txt', {
    config: { role: 'admin' },
    schema: { tags: ['integrity'], summary: 'Every digest line, oldest first (the file `verify --digest` reads)' },
  }, (_req, reply) => {
    const cursor = col.find({}, { projection: { line: 1 }, sort: { createdAt: 1 }, batchSize: 500 });
    async function* lines(): AsyncGenerator<string> {
      for await (const d of cursor) yield `${d.line}\n`;
    }
    const name = `integrity-digests-${new Date().toISOString().slice(0, 10)}.txt`;
    return reply.type('text/plain; charset=utf-8').header('Content-Disposition', `attachment; filename="${name}"`).header('Cache-Control', 'no-store').send(Readable.from(lines()));
  });
  await Promise.resolve();
}
