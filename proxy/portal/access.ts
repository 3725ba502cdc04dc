import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_BUSY } from '../db/sqlite-busy.js';
import { ProxyError } from '../errors.js';
import type { AuditInput } from './audit.js';
import type { Session } from './auth/sessions.js';
import { sameToken } from './auth/tokens.js';
import type { PortalContext } from './context.js';
import { roleAllows, type RouteRole } from './roles.js';

export const SESSION_COOKIE = 'rp_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface PortalUser extends Session { token: string }

export interface DeclaredRoute { method: string; url: string; role: RouteRole }

/**
 * Whether `session` carries its account's current session epoch (users.ts): taken at sign-in, renewed by its own
 * password change (and, during that change, the one about to be set is accepted too). Both absent: an account and a
 * session from before epochs existed.
 */
function sameEpoch(session: Session, accountEpoch: string | undefined): boolean {
  return session.epoch === accountEpoch || (session.pendingEpoch !== undefined && session.pendingEpoch === accountEpoch);
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with the role it declared (the role walk test uses it). */
    declaredRoutes: readonly DeclaredRoute[];
  }
  interface FastifyRequest {
    /** The signed-in user, set by the access hook on every non-public route. */
    portalUser: PortalUser | null;
  }
}

/** The signed-in user of a protected route (the access hook guarantees one). */
export function userOf(req: FastifyRequest): PortalUser {
  if (!req.portalUser) throw new ProxyError('AUTH_REQUIRED');
  return req.portalUser;
}

export function clientOf(req: FastifyRequest): { ip: string; userAgent: string } {
  return { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512) };
}

/** Writes an audit entry for the request's user. */
export async function audit(ctx: PortalContext, req: FastifyRequest, entry: Omit<AuditInput, 'user' | 'role' | 'ip' | 'userAgent' | 'outcome'> & { outcome?: AuditInput['outcome'] }): Promise<void> {
  const user = userOf(req);
  await ctx.audit.record({ user: user.username, role: user.role, ...clientOf(req), outcome: 'ok', ...entry }, REQUEST_BUSY);
}

/**
 * Access control for every route: each one must declare `config.role` (refused at registration otherwise).
 * `public` routes are open; the others need a live session of a role that allows them, and state changes need the
 * session's CSRF token in X-CSRF-Token.
 */
export function installAccessControl(app: FastifyInstance, ctx: PortalContext): void {
  app.decorateRequest('portalUser', null);
  const declared: DeclaredRoute[] = [];
  app.decorate('declaredRoutes', declared);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const role = route.config?.role;
    if (role === undefined) throw new Error(`route ${methods.join(',')} ${route.url} declares no role (config.role: 'public' | 'auditor' | 'admin')`);
    for (const method of methods) declared.push({ method, url: route.url, role });
  });
  app.addHook('onRequest', async (req: FastifyRequest, _reply: FastifyReply) => {
    if (req.is404) return;
    const need = req.routeOptions.config.role;
    if (need === 'public') return;
    const token = req.cookies[SESSION_COOKIE];
    const session = token ? await ctx.sessions.lookup(token) : undefined;
    if (!token || !session) throw new ProxyError('AUTH_REQUIRED');
    // The account as it is now decides, not the copy the session took at sign-in: a session ends with its user's
    // deletion, and with a change of password, disabling or role (each gives the account a new session epoch in the
    // same write), and acts with the user's current role, even when the write that ends sessions (routes/users.ts,
    // routes/auth.ts) was refused or the process stopped right after the account changed.
    const account = await ctx.users.standing(session.username);
    if (!account || account.disabled || !sameEpoch(session, account.sessionEpoch)) {
      await ctx.sessions.destroy(token).catch(() => undefined);
      throw new ProxyError('AUTH_REQUIRED');
    }
    session.role = account.role;
    req.portalUser = { ...session, token };
    if (need === undefined || !roleAllows(session.role, need)) throw new ProxyError('FORBIDDEN');
    if (!SAFE_METHODS.has(req.method)) {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameToken(sent, session.csrfToken)) throw new ProxyError('CSRF_INVALID');
    }
  });
}
