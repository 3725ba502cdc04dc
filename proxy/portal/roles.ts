/** Portal roles: `admin` may do everything an `auditor` may, plus accounts, sync status and the audit log. */
export const ROLES = ['admin', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** What a route needs: `public` (no session), or a minimum role. */
export type RouteRole = Role | 'public';

export function roleAllows(have: Role, need: Role): boolean {
  return have === 'admin' || need === 'auditor';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every route declares this; the access hook refuses to register a route without it. */
    role?: RouteRole;
  }
}
