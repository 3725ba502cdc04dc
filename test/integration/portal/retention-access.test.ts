import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ADMIN, AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';

const code = (body: string): string | undefined => (body === '' ? undefined : (JSON.parse(body) as { code?: string }).code);

const ADMIN_ROUTES = [
  'GET /api/v1/retention/policies', 'POST /api/v1/retention/policies', 'PATCH /api/v1/retention/policies/:id',
  'POST /api/v1/retention/policies/:id/mode', 'DELETE /api/v1/retention/policies/:id',
  'GET /api/v1/retention/holds', 'POST /api/v1/retention/holds', 'POST /api/v1/retention/holds/:id/release', 'GET /api/v1/retention/holds/:id/export.zip',
  'GET /api/v1/retention/runs', 'GET /api/v1/retention/runs/:id', 'POST /api/v1/retention/runs', 'POST /api/v1/retention/runs/:id/restore',
  'GET /api/v1/retention/archived', 'GET /api/v1/retention/archived/:type/:id', 'POST /api/v1/retention/archived/:type/:id/restore',
];

/** The retention routes' access rules and request validation: what is refused before the service is asked. */
describe('retention routes: roles, CSRF and validation', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Login;
  let auditor: Login;

  beforeAll(async () => {
    t = await testDatabase('ret_access');
    app = await portalApp(t.name);
    await createUsers(t.db);
    admin = await login(app, ADMIN);
    auditor = await login(app, AUDITOR);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('declares every route of the design: admin everywhere except the record status (auditor)', () => {
    const declared = new Map(app.declaredRoutes.filter((r) => r.url.startsWith('/api/v1/retention')).map((r) => [`${r.method} ${r.url}`, r.role]));
    for (const route of ADMIN_ROUTES) expect(declared.get(route), route).toBe('admin');
    expect(declared.get('GET /api/v1/retention/record/:type/:id')).toBe('auditor');
    expect([...declared.keys()].filter((k) => !k.startsWith('HEAD ')).sort()).toEqual([...ADMIN_ROUTES, 'GET /api/v1/retention/record/:type/:id'].sort());
  });

  it('an auditor gets 403 FORBIDDEN on every admin route; anonymous 401', async () => {
    for (const route of ADMIN_ROUTES) {
      const [method, url] = route.split(' ') as ['GET', string];
      const filled = url.replace(':type', 'calls').replace(/:[a-z]+/gi, 'some-id');
      const res = await app.inject({ method, url: filled, headers: auditor.headers, ...(method === 'GET' ? {} : { payload: {} }) });
      expect([res.statusCode, code(res.body)], route).toEqual([403, 'FORBIDDEN']);
      const anon = await app.inject({ method, url: filled });
      expect([anon.statusCode, code(anon.body)], route).toEqual([401, 'AUTH_REQUIRED']);
    }
  });

  it('state changes without the session CSRF token are refused with CSRF_INVALID', async () => {
    const cases = [
      { method: 'POST' as const, url: '/api/v1/retention/policies', payload: { id: 'p1', name: 'P1', dataType: 'calls', scope: { kind: 'all' }, activeDays: 10, archiveDays: 0 } },
      { method: 'POST' as const, url: '/api/v1/retention/policies/p1/mode', payload: { mode: 'enforce', confirm: 'P1' } },
      { method: 'DELETE' as const, url: '/api/v1/retention/policies/p1' },
      { method: 'POST' as const, url: '/api/v1/retention/holds', payload: { name: 'H', reason: 'R', scope: { rooms: ['r1'] } } },
      { method: 'POST' as const, url: '/api/v1/retention/runs' },
      { method: 'POST' as const, url: '/api/v1/retention/archived/calls/c1/restore', payload: { reason: 'x' } },
    ];
    for (const c of cases) {
      const none = await app.inject({ ...c, headers: { cookie: admin.cookie } });
      expect([none.statusCode, code(none.body)], `${c.method} ${c.url}`).toEqual([403, 'CSRF_INVALID']);
      const wrong = await app.inject({ ...c, headers: { cookie: admin.cookie, 'x-csrf-token': 'wrong' } });
      expect([wrong.statusCode, code(wrong.body)], `${c.method} ${c.url} wrong token`).toEqual([403, 'CSRF_INVALID']);
    }
  });

  it('refuses bad bodies, params and query strings with 400 VALIDATION', async () => {
    const policy = { id: 'calls-short', name: 'Calls', dataType: 'calls', scope: { kind: 'all' }, activeDays: 30, archiveDays: 0 };
    const bad: { method: 'GET' | 'POST' | 'PATCH'; url: string; payload?: Record<string, unknown>; why: string }[] = [
      { method: 'POST', url: '/api/v1/retention/policies', payload: { ...policy, id: 'Has Spaces' }, why: 'id not a slug' },
      { method: 'POST', url: '/api/v1/retention/policies', payload: { ...policy, id: 'x'.repeat(65) }, why: 'id too long' },
      { method: 'POST', url: '/api/v1/retention/policies', payload: { ...policy, activeDays: 0 }, why: 'activeDays 0' },
      { method: 'POST', url: '/api/v1/retention/policies', payload: { ...policy, activeDays: 5001 }, why: 'activeDays 5001' },
      { method: 'POST', url: '/api/v1/retention/policies', payload: { ...policy, archiveDays: -1 }, why: 'archiveDays -1' },
      { method: 'POST', url: '/api/v1/retention/policies', payload: { ...policy, archiveDays: 5001 }, why: 'archiveDays 5001' },
      { method: 'POST', url: '/api/v1/retention/policies', payload: { ...policy, dataType: 'media:everything' }, why: 'unknown data type' },
      { method: 'POST', url: '/api/v1/retention/policies', payload: { ...policy, mode: 'enforce' }, why: 'mode on create (new policies start in dry-run)' },
      { method: 'POST', url: '/api/v1/retention/policies', payload: { ...policy, scope: { kind: 'team' } }, why: 'unknown scope kind' },
      { method: 'POST', url: '/api/v1/retention/policies', payload: { ...policy, name: '   ' }, why: 'blank name' },
      { method: 'PATCH', url: '/api/v1/retention/policies/calls-short', payload: {}, why: 'empty patch' },
      { method: 'PATCH', url: '/api/v1/retention/policies/calls-short', payload: { dataType: 'rooms' }, why: 'data type cannot change' },
      { method: 'POST', url: '/api/v1/retention/policies/calls-short/mode', payload: { mode: 'destroy' }, why: 'unknown mode' },
      { method: 'POST', url: '/api/v1/retention/holds', payload: { name: 'H', reason: 'R', scope: {} }, why: 'empty hold scope' },
      { method: 'POST', url: '/api/v1/retention/holds', payload: { name: 'H', reason: '  ', scope: { rooms: ['r1'] } }, why: 'blank reason' },
      { method: 'POST', url: '/api/v1/retention/holds', payload: { name: 'H', reason: 'R', scope: { from: 'yesterday' } }, why: 'bad date' },
      { method: 'POST', url: '/api/v1/retention/holds', payload: { name: 'H', reason: 'R', scope: { teams: ['t'] } }, why: 'unknown scope field' },
      { method: 'POST', url: '/api/v1/retention/holds/h1/release', payload: {}, why: 'release without reason' },
      { method: 'GET', url: '/api/v1/retention/holds?state=gone', why: 'unknown hold state' },
      { method: 'GET', url: '/api/v1/retention/holds?name=x', why: 'unknown query key' },
      { method: 'GET', url: '/api/v1/retention/runs?limit=0', why: 'limit 0' },
      { method: 'GET', url: '/api/v1/retention/archived', why: 'archived without type' },
      { method: 'GET', url: '/api/v1/retention/archived?type=voicemails', why: 'archived: a list type is not a data type' },
      { method: 'GET', url: '/api/v1/retention/archived/nothing/x1', why: 'archived: unknown type' },
      { method: 'POST', url: '/api/v1/retention/archived/calls/c1/restore', payload: { reason: '' }, why: 'empty restore reason' },
      { method: 'POST', url: '/api/v1/retention/runs/r1/restore', payload: { reason: 'x', all: true }, why: 'unknown restore field' },
      { method: 'GET', url: '/api/v1/retention/record/widgets/x1', why: 'record status: unknown type' },
    ];
    for (const b of bad) {
      const res = await app.inject({ method: b.method, url: b.url, headers: admin.headers, ...(b.payload === undefined ? {} : { payload: b.payload }) });
      expect([res.statusCode, code(res.body)], b.why).toEqual([400, 'VALIDATION']);
    }
  });

  it('lists the retention routes in the OpenAPI document', async () => {
    const doc = (await app.inject({ url: '/api/v1/openapi.json' })).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/api/v1/retention/policies', '/api/v1/retention/policies/{id}/mode', '/api/v1/retention/holds/{id}/export.zip',
      '/api/v1/retention/runs/{id}/restore', '/api/v1/retention/archived/{type}/{id}', '/api/v1/retention/record/{type}/{id}',
    ]));
  });
});
