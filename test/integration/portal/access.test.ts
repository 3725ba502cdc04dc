import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ADMIN, AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';

const fill = (url: string): string => url.replace(/:[A-Za-z]+/g, 'x-1').replace(/\*$/, 'anything');
const code = (body: string): string | undefined => (body === '' ? undefined : (JSON.parse(body) as { code?: string }).code);

describe('portal access control', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Login;
  let auditor: Login;

  beforeAll(async () => {
    t = await testDatabase('portal_access');
    app = await portalApp(t.name);
    await createUsers(t.db);
    admin = await login(app, ADMIN);
    auditor = await login(app, AUDITOR);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('every registered route declares a role; only health, login, OpenAPI and the UI are public', () => {
    const routes = app.declaredRoutes;
    expect(routes.length).toBeGreaterThan(40);
    const publicRoutes = routes.filter((r) => r.role === 'public' && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`).sort();
    expect(publicRoutes).toEqual(['GET /', 'GET /api/v1/openapi.json', 'GET /healthz', 'GET /readyz', 'POST /api/v1/auth/login'].sort());
    for (const admin of ['/api/v1/users', '/api/v1/sync/jobs', '/api/v1/sync/health', '/api/v1/audit', '/api/v1/audit/export.csv']) {
      expect(routes.find((r) => r.url === admin && r.method === 'GET')?.role, admin).toBe('admin');
    }
  });

  it('walks every route: anonymous gets 401 AUTH_REQUIRED, an auditor on an admin route 403 FORBIDDEN', async () => {
    let checked = 0;
    for (const r of app.declaredRoutes) {
      if (r.role === 'public') continue;
      const url = fill(r.url);
      const anon = await app.inject({ method: r.method as 'GET', url });
      expect([anon.statusCode, code(anon.body)], `${r.method} ${r.url} anonymous`).toEqual([401, r.method === 'HEAD' ? undefined : 'AUTH_REQUIRED']);
      const expired = await app.inject({ method: r.method as 'GET', url, headers: { cookie: 'rp_session=not-a-session' } });
      expect(expired.statusCode, `${r.method} ${r.url} unknown session`).toBe(401);
      if (r.role === 'admin') {
        const wrong = await app.inject({ method: r.method as 'GET', url, headers: auditor.headers });
        expect([wrong.statusCode, code(wrong.body)], `${r.method} ${r.url} as auditor`).toEqual([403, r.method === 'HEAD' ? undefined : 'FORBIDDEN']);
        const right = await app.inject({ method: r.method as 'GET', url, headers: admin.headers });
        expect([401, 403], `${r.method} ${r.url} as admin`).not.toContain(right.statusCode);
      } else if (r.url !== '/api/v1/auth/logout') {
        const right = await app.inject({ method: r.method as 'GET', url, headers: auditor.headers });
        expect([401, 403], `${r.method} ${r.url} as auditor`).not.toContain(right.statusCode);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('a route registered without a role is refused at start-up', async () => {
    const other = await portalApp(t.name, {}, { ready: false });
    try {
      expect(() => other.get('/api/v1/undeclared', () => 'x')).toThrow(/declares no role/);
      expect(() => other.get('/api/v1/declared', { config: { role: 'auditor' } }, () => 'x')).not.toThrow();
    } finally {
      await other.close();
    }
  });

  it('serves the OpenAPI document with the portal routes and their schemas', async () => {
    const res = await app.inject({ url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ openapi: string; paths: Record<string, Record<string, { parameters?: { name: string }[] }>> }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/calls', '/api/v1/calls/{id}', '/api/v1/media/{fileId}', '/api/v1/users/{username}', '/api/v1/auth/login']));
    expect(doc.paths['/api/v1/calls']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['q', 'from', 'to', 'number', 'cursor', 'limit']));
  });

  it('account management: create, list, patch, delete; USER_EXISTS, PASSWORD_WEAK, LAST_ADMIN, NOT_FOUND; audited', async () => {
    const h = admin.headers;
    const created = await app.inject({ method: 'POST', url: '/api/v1/users', headers: h, payload: { username: 'carol', password: 'Carol-Pass-9', role: 'auditor' } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ username: 'carol', role: 'auditor', disabled: false });
    expect(created.body).not.toContain('passwordHash');
    const dup = await app.inject({ method: 'POST', url: '/api/v1/users', headers: h, payload: { username: 'carol', password: 'Carol-Pass-9', role: 'auditor' } });
    expect([dup.statusCode, code(dup.body)]).toEqual([409, 'USER_EXISTS']);
    const weak = await app.inject({ method: 'POST', url: '/api/v1/users', headers: h, payload: { username: 'dave', password: 'alllowercase1', role: 'auditor' } });
    expect([weak.statusCode, code(weak.body)]).toEqual([400, 'PASSWORD_WEAK']);
    const badRole = await app.inject({ method: 'POST', url: '/api/v1/users', headers: h, payload: { username: 'dave', password: 'Dave-Pass-9', role: 'root' } });
    expect(code(badRole.body)).toBe('VALIDATION');

    const list = await app.inject({ url: '/api/v1/users', headers: h });
    expect(list.json<{ items: { username: string }[] }>().items.map((u) => u.username)).toEqual(['admin', 'auditor1', 'carol']);

    const carol = await login(app, { username: 'carol', password: 'Carol-Pass-9' });
    const disabled = await app.inject({ method: 'PATCH', url: '/api/v1/users/carol', headers: h, payload: { disabled: true } });
    expect(disabled.json()).toMatchObject({ disabled: true });
    // Disabling ends the user's sessions and refuses new sign-ins.
    expect((await app.inject({ url: '/api/v1/auth/me', headers: { cookie: carol.cookie } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'carol', password: 'Carol-Pass-9' } })).statusCode).toBe(401);

    const promote = await app.inject({ method: 'PATCH', url: '/api/v1/users/carol', headers: h, payload: { disabled: false, role: 'admin', password: 'Carol-Pass-10' } });
    expect(promote.json()).toMatchObject({ role: 'admin', disabled: false });
    const carolAdmin = await login(app, { username: 'carol', password: 'Carol-Pass-10' });
    // Two admins: one may be demoted; then the last one may not be demoted, disabled or deleted.
    expect((await app.inject({ method: 'PATCH', url: '/api/v1/users/admin', headers: carolAdmin.headers, payload: { role: 'auditor' } })).statusCode).toBe(200);
    for (const req of [
      { method: 'PATCH' as const, payload: { role: 'auditor' } },
      { method: 'PATCH' as const, payload: { disabled: true } },
      { method: 'DELETE' as const },
    ]) {
      const r = await app.inject({ ...req, url: '/api/v1/users/carol', headers: carolAdmin.headers });
      expect([r.statusCode, code(r.body)], JSON.stringify(req)).toEqual([409, 'LAST_ADMIN']);
    }
    expect((await app.inject({ method: 'PATCH', url: '/api/v1/users/admin', headers: carolAdmin.headers, payload: { role: 'admin' } })).statusCode).toBe(200);
    admin = await login(app, ADMIN);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/users/carol', headers: admin.headers })).statusCode).toBe(204);
    const gone = await app.inject({ method: 'DELETE', url: '/api/v1/users/carol', headers: admin.headers });
    expect([gone.statusCode, code(gone.body)]).toEqual([404, 'NOT_FOUND']);

    const actions = (await t.db.collection('portal.audit').find({ target: 'users/carol' }).toArray()).map((a): unknown => a.action);
    expect(actions).toEqual(expect.arrayContaining(['user.create', 'user.update', 'user.delete', 'login.ok', 'login.failed']));
  });

  it('admins browse the audit log with filters and cursor, and export it as CSV', async () => {
    const page = await app.inject({ url: '/api/v1/audit?action=login.ok&limit=2', headers: admin.headers });
    const body = page.json<{ items: { action: string; user: string; ip: string; userAgent: string; at: string }[]; nextCursor: string | null }>();
    expect(body.items).toHaveLength(2);
    expect(body.items.every((i) => i.action === 'login.ok' && i.ip === '127.0.0.1')).toBe(true);
    expect(body.nextCursor).not.toBeNull();
    const next = await app.inject({ url: `/api/v1/audit?action=login.ok&limit=2&cursor=${body.nextCursor ?? ''}`, headers: admin.headers });
    const nextItems = next.json<{ items: { at: string }[] }>().items;
    expect(nextItems.length).toBeGreaterThan(0);
    expect((nextItems[0]?.at ?? '') <= (body.items[1]?.at ?? '')).toBe(true);
    const csv = await app.inject({ url: '/api/v1/audit/export.csv?user=carol', headers: admin.headers });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('at,user,role,action,target,outcome,ip,userAgent,details');
    expect(lines.length).toBeGreaterThan(3);
  });

  it('the UI placeholder is served when no UI is built; unknown API paths are JSON 404s', async () => {
    const root = await app.inject({ url: '/', headers: { accept: 'text/html' } });
    expect(root.statusCode).toBe(200);
    expect(root.headers['content-type']).toMatch(/text\/html/);
    const api = await app.inject({ url: '/api/v1/nothing-here', headers: auditor.headers });
    expect([api.statusCode, code(api.body)]).toEqual([404, 'NOT_FOUND']);
  });

  it('serves the built UI with an SPA fallback: files as they are, index.html for HTML navigations, JSON 404 for the API', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rp-ui-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><div id="app"></div>');
    await writeFile(join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
    const ui = await portalApp(t.name, { portalDir: dir });
    try {
      const asset = await ui.inject({ url: '/assets/app-1234.js' });
      expect([asset.statusCode, asset.body]).toEqual([200, 'console.log(1)']);
      expect(asset.headers['content-type']).toMatch(/javascript/);
      for (const url of ['/', '/calls/3f0c8a7e-1b2d-4c3e-8f9a-0b1c2d3e4f50', '/enquiries?q=refund']) {
        const page = await ui.inject({ url, headers: { accept: 'text/html,application/xhtml+xml' } });
        expect([page.statusCode, page.body], url).toEqual([200, '<!doctype html><div id="app"></div>']);
      }
      const traversal = await ui.inject({ url: '/..%2f..%2fetc%2fpasswd', headers: { accept: 'application/json' } });
      expect(traversal.statusCode).toBe(404);
      const api = await ui.inject({ url: '/api/v1/unknown', headers: { accept: 'text/html' } });
      expect([api.statusCode, code(api.body)]).toEqual([404, 'NOT_FOUND']);
      const missingAsset = await ui.inject({ url: '/assets/gone.js', headers: { accept: '*/*' } });
      expect(missingAsset.statusCode).toBe(404);
    } finally {
      await ui.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
