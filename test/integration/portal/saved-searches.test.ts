import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ADMIN, AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';
import { PORTAL_COLLECTIONS } from '../../../proxy/portal/collections.js';
import { SAVED_SEARCHES_PER_USER } from '../../../proxy/portal/saved-searches.js';
import { UserStore } from '../../../proxy/portal/users.js';

interface Saved { id: string; owner: string; name: string; list: string; query: Record<string, string> }
const OTHER = { username: 'auditor2', password: 'Auditor-Pass-2' };

describe('saved searches', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Login;
  let auditor: Login;
  let other: Login;

  beforeAll(async () => {
    t = await testDatabase('portal_saved');
    app = await portalApp(t.name);
    await createUsers(t.db);
    await new UserStore(t.db).create(OTHER.username, OTHER.password, 'auditor');
    admin = await login(app, ADMIN);
    auditor = await login(app, AUDITOR);
    other = await login(app, OTHER);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  const save = (who: Login, body: unknown) => app.inject({ method: 'POST', url: '/api/v1/saved-searches', headers: who.headers, payload: body as Record<string, unknown> });
  const mine = async (who: Login): Promise<Saved[]> => (await app.inject({ url: '/api/v1/saved-searches', headers: who.headers })).json<{ items: Saved[] }>().items;

  it('an auditor saves the current filters of a list and finds them again; others do not see them; the save is audited', async () => {
    const query = { q: 'Ben Yip', from: '2026-11-01T00:00:00.000Z', sort: 'startedAt', order: 'asc', direction: '' };
    const res = await save(auditor, { name: '  Ben Yip calls ', list: 'calls', query });
    expect(res.statusCode, res.body).toBe(201);
    const saved = res.json<Saved>();
    expect(saved).toMatchObject({ owner: AUDITOR.username, name: 'Ben Yip calls', list: 'calls', query: { q: 'Ben Yip', from: query.from, sort: 'startedAt', order: 'asc' } });
    expect(saved.query).not.toHaveProperty('direction');
    expect((await mine(auditor)).map((s) => s.id)).toEqual([saved.id]);
    expect(await mine(other)).toEqual([]);
    const entry = await t.db.collection(PORTAL_COLLECTIONS.audit).findOne({ action: 'search.save', user: AUDITOR.username });
    expect(entry).toMatchObject({ target: `saved-searches/${saved.id}`, details: { name: 'Ben Yip calls', list: 'calls' } });
  });

  it('the same name on the same list is refused (SAVED_SEARCH_EXISTS), whatever its case; another user may use it', async () => {
    const again = await save(auditor, { name: 'BEN YIP CALLS', list: 'calls', query: {} });
    expect([again.statusCode, again.json<{ code: string }>().code]).toEqual([409, 'SAVED_SEARCH_EXISTS']);
    expect((await save(other, { name: 'Ben Yip calls', list: 'calls', query: {} })).statusCode).toBe(201);
  });

  it('refuses filters the list does not have, bad values and blank names with VALIDATION, and stores nothing', async () => {
    const before = await t.db.collection(PORTAL_COLLECTIONS.savedSearches).countDocuments();
    for (const body of [
      { name: 'x', list: 'calls', query: { $where: '1' } },
      { name: 'x', list: 'calls', query: { sort: 'password' } },
      { name: 'x', list: 'calls', query: { from: 'yesterday' } },
      { name: 'x', list: 'calls', query: { limit: '5' } },
      { name: '   ', list: 'calls', query: {} },
      { name: 'x', list: 'users', query: {} },
      { name: 'x', list: 'calls', query: { q: { $ne: 1 } } },
    ]) {
      const res = await save(auditor, body);
      expect([res.statusCode, res.json<{ code: string }>().code], JSON.stringify(body)).toEqual([400, 'VALIDATION']);
    }
    expect(await t.db.collection(PORTAL_COLLECTIONS.savedSearches).countDocuments()).toBe(before);
  });

  it('admins see who saved what; an auditor may not', async () => {
    const res = await app.inject({ url: '/api/v1/saved-searches/all', headers: admin.headers });
    expect(res.statusCode).toBe(200);
    const owners = res.json<{ items: Saved[] }>().items.map((s) => `${s.owner}:${s.name}`).sort();
    expect(owners).toEqual([`${AUDITOR.username}:Ben Yip calls`, `${OTHER.username}:Ben Yip calls`]);
    expect((await app.inject({ url: '/api/v1/saved-searches/all', headers: auditor.headers })).statusCode).toBe(403);
  });

  it("a user deletes their own saved search but not another's (NOT_FOUND); an admin may delete any; deletes are audited", async () => {
    const [own] = await mine(auditor);
    const [theirs] = await mine(other);
    const foreign = await app.inject({ method: 'DELETE', url: `/api/v1/saved-searches/${theirs!.id}`, headers: auditor.headers });
    expect([foreign.statusCode, foreign.json<{ code: string }>().code]).toEqual([404, 'NOT_FOUND']);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/saved-searches/${own!.id}`, headers: auditor.headers })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/saved-searches/${theirs!.id}`, headers: admin.headers })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/saved-searches/not-an-id', headers: admin.headers })).statusCode).toBe(404);
    expect(await mine(auditor)).toEqual([]);
    expect(await mine(other)).toEqual([]);
    const deletes = await t.db.collection(PORTAL_COLLECTIONS.audit).find({ action: 'search.delete' }).toArray();
    expect(deletes.map((d) => String(d.user)).sort()).toEqual([ADMIN.username, AUDITOR.username].sort());
  });

  it(`keeps at most ${SAVED_SEARCHES_PER_USER} per user, also when saves race (SAVED_SEARCH_LIMIT)`, async () => {
    const col = t.db.collection(PORTAL_COLLECTIONS.savedSearches);
    const now = new Date();
    await col.insertMany(Array.from({ length: SAVED_SEARCHES_PER_USER - 2 }, (_, i) => ({ owner: OTHER.username, name: `s${i}`, nameKey: `s${i}`, list: 'calls', query: {}, createdAt: now })));
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => save(other, { name: `race ${i}`, list: 'messages', query: {} })));
    const codes = results.map((r) => (r.statusCode === 201 ? 'ok' : r.json<{ code: string }>().code));
    expect(codes.filter((c) => c !== 'ok' && c !== 'SAVED_SEARCH_LIMIT')).toEqual([]);
    expect(codes).toContain('SAVED_SEARCH_LIMIT');
    expect(await col.countDocuments({ owner: OTHER.username })).toBeLessThanOrEqual(SAVED_SEARCHES_PER_USER);
  });
});
