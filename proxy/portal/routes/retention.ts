import type { FastifyInstance } from 'fastify';
import type { PortalContext } from '../context.js';
import { retentionArchivedRoutes } from './retention-archived.js';
import { retentionHoldRoutes } from './retention-holds.js';
import { retentionPolicyRoutes } from './retention-policies.js';
import { retentionRunRoutes } from './retention-runs.js';

/** Retention governance (docs/retention.md, docs/portal-api.md "Retention governance"): thin calls into RetentionService. */
export async function retentionRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  await app.register(retentionPolicyRoutes, { ctx });
  await app.register(retentionHoldRoutes, { ctx });
  await app.register(retentionRunRoutes, { ctx });
  await app.register(retentionArchivedRoutes, { ctx });
}
