import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProxyError } from '../../errors.js';
import { newSessionEpoch } from '../users.js';
import { REQUEST_BUSY } from '../../db/sqlite-busy.js';
import { audit, clientOf, SESSION_COOKIE, userOf } from '../access.js';
import type { PortalContext } from '../context.js';
import { Password, SessionBody } from './schemas.js';

export interface AuthRoutesOptions { ctx: PortalContext; secureCookies: boolean }

/** Sign-in, sign-out, the current session, and changing one's own password. */
export async function authRoutes(app: FastifyInstance, { ctx, secureCookies }: AuthRoutesOptions): Promise<void> {
  // Secure when the portal serves TLS itself, or when the request reached a trusted TLS-terminating proxy over HTTPS
  // (req.protocol follows X-Forwarded-Proto only from addresses in portal.trustProxy).
  const cookieOptions = (req: FastifyRequest) => ({ httpOnly: true, sameSite: 'strict' as const, path: '/', secure: secureCookies || req.protocol === 'https' });

  app.post('/api/v1/auth/login', {
    config: { role: 'public' },
    schema: {
      tags: ['auth'],
      body: { type: 'object', required: ['username', 'password'], additionalProperties: false, properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: Password } },
      response: { 200: SessionBody },
    },
  }, async (req, reply) => {
    const { username, password } = req.body as { username: string; password: string };
    const client = clientOf(req);
    // Counted first, verified after: parallel guesses cannot get past the limit.
    const { attempt, retryAfterMs: wait } = await ctx.throttle.begin(username, client.ip);
    if (wait > 0) {
      await ctx.throttle.withdraw(attempt);
      await ctx.audit.record({ user: username, role: null, action: 'login.failed', target: `users/${username}`, ...client, outcome: 'denied', details: { reason: 'locked' } }, REQUEST_BUSY);
      void reply.header('Retry-After', String(Math.ceil(wait / 1000)));
      throw new ProxyError('AUTH_LOCKED', undefined, { details: { retryAfterSeconds: Math.ceil(wait / 1000) } });
    }
    const user = await ctx.users.authenticate(username, password);
    if (!user) {
      // The attempt stays counted as a failure.
      await ctx.audit.record({ user: username, role: null, action: 'login.failed', target: `users/${username}`, ...client, outcome: 'failed' }, REQUEST_BUSY);
      throw new ProxyError('AUTH_INVALID_CREDENTIALS');
    }
    await ctx.throttle.succeeded(attempt);
    const { token, session } = await ctx.sessions.create(user, client);
    await ctx.audit.record({ user: user.username, role: user.role, action: 'login.ok', target: `users/${user.username}`, ...client, outcome: 'ok' }, REQUEST_BUSY);
    void reply.setCookie(SESSION_COOKIE, token, { ...cookieOptions(req), expires: session.expiresAt });
    return { user: { username: session.username, role: session.role }, csrfToken: session.csrfToken };
  });

  app.get('/api/v1/auth/me', { config: { role: 'auditor' }, schema: { tags: ['auth'], response: { 200: SessionBody } } }, (req) => {
    const user = userOf(req);
    return { user: { username: user.username, role: user.role }, csrfToken: user.csrfToken };
  });

  app.post('/api/v1/auth/logout', { config: { role: 'auditor' }, schema: { tags: ['auth'] } }, async (req, reply) => {
    const user = userOf(req);
    await ctx.sessions.destroy(user.token);
    await audit(ctx, req, { action: 'logout', target: `users/${user.username}` });
    void reply.clearCookie(SESSION_COOKIE, cookieOptions(req));
    return reply.code(204).send();
  });

  app.post('/api/v1/auth/password', {
    config: { role: 'auditor' },
    schema: {
      tags: ['auth'],
      body: { type: 'object', required: ['currentPassword', 'newPassword'], additionalProperties: false, properties: { currentPassword: Password, newPassword: Password } },
    },
  }, async (req, reply) => {
    const user = userOf(req);
    const { currentPassword, newPassword } = req.body as { currentPassword: string; newPassword: string };
    if (!(await ctx.users.authenticate(user.username, currentPassword))) throw new ProxyError('AUTH_INVALID_CREDENTIALS');
    // Other sessions of this user end; this one stays (it is the one that knew the old password). The account's new
    // session epoch ends the others by itself at their next request (access.ts); this session accepts it before the
    // change and carries it after, so its own requests in between stand. An interruption leaves none of the others
    // standing, at worst this one ended too.
    const epoch = newSessionEpoch();
    await ctx.sessions.expectEpoch(user.token, epoch);
    await ctx.users.update(user.username, { password: newPassword }, { sessionEpoch: epoch });
    await ctx.sessions.keepThroughPasswordChange(user.token, epoch);
    await ctx.sessions.destroyAllOf(user.username, user.token);
    await audit(ctx, req, { action: 'password.change', target: `users/${user.username}` });
    return reply.code(204).send();
  });
  await Promise.resolve();
}
