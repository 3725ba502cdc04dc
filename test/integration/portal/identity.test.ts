import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyImport, ensureImportIndexes, planImport } from '../../../proxy/importer/index.js';
import { backfillIdentities } from '../../../proxy/importer/identity-backfill.js';
import { refreshIdentity } from '../../../proxy/importer/identity.js';
import { majority } from '../../../proxy/db/write-concern.js';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';
import { extractedDir } from '../importer/extracted-dir.js';

const log = pino({ level: 'silent' });
const JOB = (d: number): string => `0b7f3c1e-2a4d-4e8f-9c1a-5d6e7f8a9b0${d}`;
const ARCHIVE = (d: number): string => `backup_svc-1_${JOB(d)}_2024050${d}020000.zip`;
const BEN = 'c0000000-0000-4000-8000-000000000001';
const GRACE = 'c0000000-0000-4000-8000-000000000002';
const oid = (day: number, n: number): string => `65000000000000000000${day}${String(n).padStart(3, '0')}`;

/** A contact as the vendor delivers it on `day`, with a new `_id` every day (the vendor this product must survive). */
function contact(day: number, n: number, contactId: string, name: string, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    _id: { $oid: oid(day, n) }, contactId, name, company: 'Harbour Logistics',
    phones: [{ label: 'mobile', number: '+85261234567' }], emails: [`${name.split(' ')[0]?.toLowerCase()}@example.com`], tags: [], ...over,
  });
}

async function importDay(t: TestDatabase, day: number, contacts: string[]): Promise<void> {
  const x = await extractedDir({ 'dynamic-phonebook/contacts.json': `${contacts.join('\n')}\n` });
  try {
    const plan = await planImport(x.dir, x.entries, log);
    await applyImport(t.db, x.dir, plan, { jobId: JOB(day), archive: ARCHIVE(day) }, { wtimeoutMs: 10_000, log });
  } finally {
    await x.remove();
  }
}

interface Row { id: string; name?: string; company?: string; department?: string; phones?: { number: string }[] }
interface Version { recordId: string; current: boolean; provenance: { archive: string; createdAt: string } | null; changes: { field: string; from: unknown; to: unknown }[] }

/**
 * One person, one identity: a vendor that gives a re-delivered contact a new `_id` every day must not make the portal
 * show the person once per archive. Lists show the newest delivery; the detail page shows every version.
 */
describe('one person, one identity', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let s: Login;
  const get = async <T>(url: string): Promise<T> => {
    const res = await app.inject({ url, headers: { cookie: s.cookie } });
    expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
    return res.json<T>();
  };

  beforeAll(async () => {
    t = await testDatabase('identity');
    await ensureImportIndexes(t.db);
    // Imported out of order (day 3, then 1, then 2): the newest archive wins whatever the order.
    await importDay(t, 3, [contact(3, 1, BEN, 'Ben Yip', { company: 'Yip Trading', phones: [{ label: 'work', number: '+85229998888' }] }), contact(3, 2, GRACE, 'Grace Lau')]);
    await importDay(t, 1, [contact(1, 1, BEN, 'Ben Yip'), contact(1, 2, GRACE, 'Grace Lau')]);
    await importDay(t, 2, [contact(2, 1, BEN, 'Ben Yip', { company: 'Yip Trading' }), contact(2, 2, GRACE, 'Grace Lau')]);
    app = await portalApp(t.name);
    await createUsers(t.db);
    s = await login(app, AUDITOR);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('lists, pages, searches, filters and exports one row per contactId showing the newest delivery', async () => {
    expect(await t.db.collection(RECORD_COLLECTIONS.contacts).countDocuments()).toBe(6);
    const page = await get<{ items: Row[] }>('/api/v1/contacts');
    expect(page.items.map((r) => r.id)).toEqual([BEN, GRACE]);
    expect(page.items[0]).toMatchObject({ company: 'Yip Trading', phones: [{ number: '+85229998888' }] });
    // Cursor pagination walks each person once.
    const first = await get<{ items: Row[]; nextCursor: string }>('/api/v1/contacts?limit=1');
    const second = await get<{ items: Row[]; nextCursor: string | null }>(`/api/v1/contacts?limit=1&cursor=${first.nextCursor}`);
    expect([...first.items, ...second.items].map((r) => r.id)).toEqual([BEN, GRACE]);
    expect(second.nextCursor).toBeNull();
    expect((await get<{ items: Row[] }>('/api/v1/contacts?q=ben')).items.map((r) => r.id)).toEqual([BEN]);
    // An old number (days 1 and 2) no longer finds him: only the newest delivery is searched.
    expect((await get<{ items: Row[] }>('/api/v1/contacts?number=61234567')).items.map((r) => r.id)).toEqual([GRACE]);
    const exported = await app.inject({ url: '/api/v1/contacts/export.json', headers: { cookie: s.cookie } });
    expect(exported.json<Row[]>().map((r) => r.id)).toEqual([BEN, GRACE]);
  });

  it("shows the newest version on the detail page, with the record's history: 3 versions, what changed and from which archive", async () => {
    const d = await get<{ item: Row; provenance: { archive: string }; history: Version[] }>(`/api/v1/contacts/${BEN}`);
    expect(d.item.company).toBe('Yip Trading');
    expect(d.provenance.archive).toBe(ARCHIVE(3));
    expect(d.history.map((v) => [v.provenance?.archive, v.current, v.recordId])).toEqual([
      [ARCHIVE(3), true, oid(3, 1)],
      [ARCHIVE(2), false, oid(2, 1)],
      [ARCHIVE(1), false, oid(1, 1)],
    ]);
    expect(d.history[0]?.changes).toEqual([{ field: 'phones', from: [{ label: 'mobile', number: '+85261234567' }], to: [{ label: 'work', number: '+85229998888' }] }]);
    expect(d.history[1]?.changes).toEqual([{ field: 'company', from: 'Harbour Logistics', to: 'Yip Trading' }]);
    expect(d.history[2]?.changes).toEqual([]);
  });

  it('shows the newest version retention has not archived, and the newest again once retention restores it', async () => {
    const col = t.db.collection(RECORD_COLLECTIONS.contacts);
    await col.updateOne({ contactId: BEN, '_retention.archive': ARCHIVE(3) }, { $set: { _archived: { runId: 'r1', policyId: 'p', at: new Date() } } });
    await refreshIdentity(t.db, RECORD_COLLECTIONS.contacts, [BEN], majority(10_000));
    expect((await get<{ items: Row[] }>('/api/v1/contacts?q=ben')).items.map((r) => [r.id, r.company, r.phones?.[0]?.number])).toEqual([[BEN, 'Yip Trading', '+85261234567']]);
    // Restored by retention (the admin's "Restore"): the newest version is the one shown again.
    const retention = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'test', batchSize: 10, batchPauseMs: 0 });
    expect(await retention.restoreRecord('contacts', BEN, 'restored for the test', 'admin')).toEqual({ restored: 1 });
    expect((await get<{ items: Row[] }>('/api/v1/contacts?q=ben')).items.map((r) => r.phones?.[0]?.number)).toEqual(['+85229998888']);
  });

  it('the importer builds the indexes its identity refresh reads by, without the portal (idempotent)', async () => {
    await ensureImportIndexes(t.db);
    for (const [collection, idField] of [[RECORD_COLLECTIONS.staff, 'staffId'], [RECORD_COLLECTIONS.contacts, 'contactId'], [RECORD_COLLECTIONS.rooms, 'roomId']] as const) {
      const keys = (await t.db.collection(collection).indexes()).map((i) => JSON.stringify(i.key));
      expect(keys, collection).toContain(JSON.stringify({ [idField]: 1 }));
      expect(keys, collection).toContain(JSON.stringify({ '_retention.archive': 1 }));
    }
    const files = (await t.db.collection(RECORD_COLLECTIONS.files).indexes()).map((i) => JSON.stringify(i.key));
    expect(files).toContain(JSON.stringify({ '_retention.archive': 1 }));
  });

  it('a database imported before the marker existed displays correctly after the one-time backfill', async () => {
    const staff = t.db.collection(RECORD_COLLECTIONS.staff);
    const stamp = (d: number): Record<string, unknown> => ({ jobId: JOB(d), archive: ARCHIVE(d), createdAt: new Date(`2024-05-0${d}T02:00:00Z`), entry: 'lc-data-server/staff.json', sha256: String(d).repeat(64) });
    const S = 's0000000-0000-4000-8000-000000000001';
    await staff.insertMany([
      { _id: 'v2' as never, staffId: S, displayName: 'Alice Chan', department: 'Sales', _retention: stamp(2) },
      { _id: 'v1' as never, staffId: S, displayName: 'Alice Chan', department: 'Support', _retention: stamp(1) },
    ]);
    expect((await get<{ items: Row[] }>('/api/v1/staff')).items).toHaveLength(2); // as an earlier version left it
    expect(await backfillIdentities(t.db, 10_000, log)).toBeGreaterThan(0);
    const rows = (await get<{ items: Row[] }>('/api/v1/staff')).items;
    expect(rows.map((r) => [r.id, r.department])).toEqual([[S, 'Sales']]);
    expect(await backfillIdentities(t.db, 10_000, log)).toBe(0); // done once
  });
});
