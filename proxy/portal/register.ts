import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { installAccessControl } from './access.js';
import type { PortalContext } from './context.js';
import { auditRoutes } from './routes/audit.js';
import { authRoutes } from './routes/auth.js';
import { caseExportRoutes } from './routes/case-exports.js';
import { integrityRoutes } from './routes/integrity.js';
import { mediaRoutes } from './routes/media.js';
import { openapiRoutes } from './routes/openapi.js';
import { personTimelineRoutes } from './routes/person-timeline.js';
import { recordVerifyRoutes } from './routes/record-verify.js';
import { recordRoutes } from './routes/records.js';
import { retentionRoutes } from './routes/retention.js';
import { savedSearchRoutes } from './routes/saved-searches.js';
import { userRoutes } from './routes/users.js';
import { zipRoutes } from './routes/zip.js';

export interface PortalRegistration { ctx: PortalContext; secureCookies: boolean }

/**
 * Cookie parsing, OpenAPI collection and the access hook, on the root instance so they cover every route
 * registered after them. Call before any route is registered.
 */
export async function installPortalInfrastructure(app: FastifyInstance, ctx: PortalContext): Promise<void> {
  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Retention Portal API', version: '1' },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'rp_session' }, csrf: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' } } },
      security: [{ session: [] }],
    },
  });
  installAccessControl(app, ctx);
}

/** The portal's API route plugins. */
export async function portalRoutes(app: FastifyInstance, { ctx, secureCookies }: PortalRegistration): Promise<void> {
  await app.register(authRoutes, { ctx, secureCookies });
  await app.register(userRoutes, { ctx });
  await app.register(recordRoutes, { ctx });
  await app.register(recordVerifyRoutes, { ctx });
  await app.register(zipRoutes, { ctx });
  await app.register(personTimelineRoutes, { ctx });
  await app.register(caseExportRoutes, { ctx });
  await app.register(mediaRoutes, { ctx });
  await app.register(auditRoutes, { ctx });
  await app.register(retentionRoutes, { ctx });
  await app.register(integrityRoutes, { ctx });
  await app.register(savedSearchRoutes, { ctx });
  await app.register(openapiRoutes);
}
