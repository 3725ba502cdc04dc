import type { FastifyInstance } from 'fastify';
import type { ProxyMetrics } from '../metrics/metrics.js';

export interface MetricsRoutesOptions { metrics: ProxyMetrics }

/** Prometheus text exposition at /metrics (scraped on the portal port; no secrets in any label). */
export async function metricsRoutes(app: FastifyInstance, opts: MetricsRoutesOptions): Promise<void> {
  app.get('/metrics', { config: { role: 'public' } }, async (_req, reply) => {
    const { contentType, body } = await opts.metrics.exposition();
    return reply.type(contentType).send(body);
  });
  await Promise.resolve();
}
