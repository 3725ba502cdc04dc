import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../../errors.js';
import { DIGESTS_COLLECTION } from '../../integrity/digest.js';
import type { DigestDoc } from '../../integrity/digest-service.js';
import { SWEEP_PROBLEMS_COLLECTION, SWEEPS_COLLECTION, type SweepDoc, type SweepProblemDoc } from '../../integrity/sweep.js';
import type { PortalContext } from '../context.js';
import { attachment } from './records.js';

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

const Counts = { type: 'object', additionalProperties: { type: 'number' } } as const;
const SweepItem = {
  type: 'object',
  properties: {
    id: { type: 'string' }, state: { type: 'string' }, node: { type: 'string' }, startedAt: { type: 'string' }, finishedAt: { type: 'string' },
    ok: { type: 'boolean' }, resumed: { type: 'integer' }, counts: Counts, problemCounts: Counts,
    auditHead: { type: ['object', 'null'], properties: { seq: { type: 'integer' }, hash: { type: 'string' } } },
  },
} as const;
const ProblemItem = {
  type: 'object',
  properties: {
    kind: { type: 'string' }, area: { type: 'string' }, collection: { type: 'string' }, id: { type: 'string' }, detail: { type: 'string' },
    recorded: { type: 'string' }, computed: { type: 'string' }, at: { type: 'string' },
  },
} as const;
const SweepParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } } as const;
const ProblemsQuery = { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 } } } as const;

/** The integrity digests and fixity sweeps (admin): digests newest first and as the file a customer keeps; sweeps and their problems. */
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
    return attachment(reply, name, 'text/plain; charset=utf-8').send(Readable.from(lines()));
  });
  const sweeps = ctx.db.collection<SweepDoc>(SWEEPS_COLLECTION);
  const problems = ctx.db.collection<SweepProblemDoc>(SWEEP_PROBLEMS_COLLECTION);

  app.get('/api/v1/integrity/sweeps', {
    config: { role: 'admin' },
    schema: { tags: ['integrity'], summary: 'Fixity sweeps, newest first', querystring: Limit, response: { 200: { type: 'object', properties: { items: { type: 'array', items: SweepItem } } } } },
  }, async (req) => {
    const { limit } = req.query as { limit: number };
    const items = await sweeps.find({}, { sort: { startedAt: -1 }, limit, projection: { collections: 0, mediaAfter: 0, step: 0 } }).toArray();
    return { items: items.map(({ _id, ...rest }) => ({ id: _id, ...rest })) };
  });

  app.get('/api/v1/integrity/sweeps/:id/problems', {
    config: { role: 'admin' },
    schema: { tags: ['integrity'], summary: 'Every problem one fixity sweep found', params: SweepParam, querystring: ProblemsQuery, response: { 200: { type: 'object', properties: { items: { type: 'array', items: ProblemItem }, truncated: { type: 'boolean' } } } } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const { limit } = req.query as { limit: number };
    if ((await sweeps.countDocuments({ _id: id })) === 0) throw new ProxyError('NOT_FOUND', `sweep ${id}`);
    const items = await problems.find({ sweepId: id }, { sort: { _id: 1 }, limit: limit + 1, projection: { _id: 0, sweepId: 0 } }).toArray();
    return { items: items.slice(0, limit), truncated: items.length > limit };
  });
  await Promise.resolve();
}
