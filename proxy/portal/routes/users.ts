import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../../errors.js';
import { audit } from '../access.js';
import type { PortalContext } from '../context.js';
import { ROLES, type Role } from '../roles.js';
import { USERNAME_PATTERN, type UserView } from '../users.js';
import { Password, UserBody } from './schemas.js';

const NameParam = { type: 'object', required: ['username'], properties: { username: { type: 'string', pattern: USERNAME_PATTERN } } } as const;

/** Account management (admin). */
export async function userRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  const withLock = async (u: UserView): Promise<UserView & { lockedUntil?: Date }> => {
    const lockedUntil = await ctx.throttle.lockedUntil(u.username);
    return lockedUntil ? { ...u, lockedUntil } : u;
  };

  app.get('/api/v1/users', {
    config: { role: 'admin' },
    schema: { tags: ['users'], response: { 200: { type: 'object', properties: { items: { type: 'array', items: UserBody } } } } },
  }, async () => ({ items: await Promise.all((await ctx.users.list()).map(withLock)) }));

  app.post('/api/v1/users', {
    config: { role: 'admin' },
    schema: {
      tags: ['users'],
      body: { type: 'object', required: ['username', 'password', 'role'], additionalProperties: false, properties: { username: { type: 'string', pattern: USERNAME_PATTERN }, password: Password, role: { type: 'string', enum: [...ROLES] } } },
      response: { 201: UserBody },
    },
  }, async (req, reply) => {
    const { username, password, role } = req.body as { username: string; password: string; role: Role };
    const user = await ctx.users.create(username, password, role);
    await audit(ctx, req, { action: 'user.create', target: `users/${username}`, details: { role } });
    return reply.code(201).send(user);
  });

  app.patch('/api/v1/users/:username', {
    config: { role: 'admin' },
    schema: {
      tags: ['users'],
      params: NameParam,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { role: { type: 'string', enum: [...ROLES] }, password: Password, disabled: { type: 'boolean' } } },
      response: { 200: UserBody },
    },
  }, async (req) => {
    const { username } = req.params as { username: string };
    const change = req.body as { role?: Role; password?: string; disabled?: boolean };
    const { user, endSessions } = await ctx.users.update(username, change);
    if (endSessions) await ctx.sessions.destroyAllOf(username);
    await audit(ctx, req, {
      action: 'user.update',
      target: `users/${username}`,
      details: { ...(change.role ? { role: change.role } : {}), ...(change.disabled !== undefined ? { disabled: change.disabled } : {}), ...(change.password ? { passwordChanged: true } : {}) },
    });
    return withLock(user);
  });

  app.delete('/api/v1/users/:username', { config: { role: 'admin' }, schema: { tags: ['users'], params: NameParam } }, async (req, reply) => {
    const { username } = req.params as { username: string };
    if (!(await ctx.users.get(username))) throw new ProxyError('NOT_FOUND', `user ${username}`);
    await ctx.users.remove(username);
    await ctx.sessions.destroyAllOf(username);
    await audit(ctx, req, { action: 'user.delete', target: `users/${username}` });
    return reply.code(204).send();
  });
  await Promise.resolve();
}
