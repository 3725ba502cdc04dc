import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTAL_COLLECTIONS } from '../../../proxy/portal/collections.js';
import { DEFAULT_PORTAL_SETTINGS } from '../../../proxy/portal/context.js';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { seedPerson, type PersonFixture } from '../../helpers/person-data.js';
import { AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';
import { unzipAll } from '../../helpers/unzip.js';

const CENTRAL = Buffer.from([0x50, 0x4b, 0x01, 0x02]); // a ZIP central directory header

interface Entry { type: string; at: string | null; link: { list: string; id: string } }

/** Review findings on case exports: one filter path with the lists, dates, entry names, states. */
describe('case export review fixes', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let s: Login;
  let f: PersonFixture;

  const prepare = async (payload: Record<string, unknown>): Promise<{ id: string; downloadUrl: string }> => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/exports', headers: s.headers, payload });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string; downloadUrl: string }>();
  };
  const exportList = async (type: string, filters: Record<string, string>): Promise<Map<string, Buffer>> => {
    const exp = await prepare({ list: { type, filters } });
    const dl = await app.inject({ url: exp.downloadUrl, headers: { cookie: s.cookie } });
    expect(dl.statusCode).toBe(200);
    return unzipAll(dl.rawPayload);
  };
  const records = (files: Map<string, Buffer>, type: string): Entry[] => JSON.parse((files.get(`records/${type}.json`) as Buffer).toString('utf8')) as Entry[];
  const listIds = async (type: string, qs: string): Promise<string[]> => {
    const res = await app.inject({ url: `/api/v1/${type}?${qs}&limit=200`, headers: { cookie: s.cookie } });
    expect(res.statusCode).toBe(200);
    const idField = type === 'calls' ? 'callId' : 'fileId';
    return res.json<{ items: Record<string, string>[] }>().items.map((r) => r[idField] as string).sort();
  };

  beforeAll(async () => {
    t = await testDatabase('case_export_review');
    f = await seedPerson(t.db);
    app = await portalApp(t.name);
    await createUsers(t.db);
    s = await login(app, AUDITOR);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('a list export applies the list\'s party filters and name search: the same rows as the list', async () => {
    const someone = await t.db.collection(RECORD_COLLECTIONS.contacts).findOne({ name: 'Someone Else' });
    const otherId = someone?.contactId as string;
    // voicemails of a contact without any: the list is empty, so is the export
    expect(await listIds('voicemails', `contact=${otherId}`)).toEqual([]);
    expect(records(await exportList('voicemails', { contact: otherId }), 'voicemails')).toEqual([]);
    // voicemails of the contact: exactly his
    const his = await listIds('voicemails', `contact=${f.contactId}`);
    expect(his).toHaveLength(1);
    expect(records(await exportList('voicemails', { contact: f.contactId }), 'voicemails').map((e) => e.link.id)).toEqual(his);
    // calls found by a party's name (q): the same rows as the list
    const named = await listIds('calls', 'q=Someone%20Else');
    expect(named).toHaveLength(1);
    expect(records(await exportList('calls', { q: 'Someone Else' }), 'calls').map((e) => e.link.id).sort()).toEqual(named);
  });

  it('a list export dates its rows at the list\'s stored date path (voicemails: _retention.callAt); staff have none', async () => {
    const callAt = new Date('2026-03-02T13:00:00Z');
    const voicemail = f.expected.find(([type]) => type === 'voicemail')?.[1] as string;
    await t.db.collection(RECORD_COLLECTIONS.files).updateOne({ fileId: voicemail }, { $set: { '_retention.callAt': callAt } });
    const vms = records(await exportList('voicemails', { contact: f.contactId }), 'voicemails');
    expect(vms.map((e) => e.at)).toEqual([callAt.toISOString()]);
    const staff = records(await exportList('staff', {}), 'staff');
    expect(staff.length).toBeGreaterThan(0);
    expect(staff.every((e) => e.at === null)).toBe(true);
  });

  it('a HEAD reads no content: it neither claims a case export nor writes an export, playback or download entry', async () => {
    const exp = await prepare({ list: { type: 'calls', filters: {} } });
    const head = await app.inject({ method: 'HEAD', url: exp.downloadUrl, headers: { cookie: s.cookie } });
    expect([404, 405]).toContain(head.statusCode);
    const after = await app.inject({ url: `/api/v1/exports/${exp.id}`, headers: { cookie: s.cookie } });
    expect(after.json<{ state: string }>().state).toBe('ready');
    const audit = t.db.collection(PORTAL_COLLECTIONS.audit);
    expect(await audit.countDocuments({ target: `exports/${exp.id}` })).toBe(0);

    const enquiryId = f.expected.find(([type]) => type === 'enquiry')?.[1] as string;
    for (const url of [`/api/v1/enquiries/${enquiryId}/export.zip`, '/api/v1/calls/export.csv']) {
      expect([404, 405], url).toContain((await app.inject({ method: 'HEAD', url, headers: { cookie: s.cookie } })).statusCode);
    }
    expect(await audit.countDocuments({ action: 'export', target: { $in: [`enquiries/${enquiryId}`, 'calls'] } })).toBe(0);

    const [fileId] = [...f.media.keys()];
    for (const qs of ['', '?download=1']) {
      const res = await app.inject({ method: 'HEAD', url: `/api/v1/media/${fileId as string}${qs}`, headers: { cookie: s.cookie } });
      expect(res.statusCode).toBe(200);
    }
    expect(await audit.countDocuments({ target: `media/${fileId as string}` })).toBe(0);
  });

  it('a vendor fileId with ../ cannot climb out of media/ in a case export or a room export (zip slip)', async () => {
    const room = await t.db.collection(RECORD_COLLECTIONS.rooms).findOne({ name: 'Refund' });
    const roomId = room?.roomId as string;
    const fileId = '../../../tmp/evil';
    await t.db.collection(RECORD_COLLECTIONS.files).insertOne({ fileId, category: 'room-file', name: 'evil.png', mimeType: 'image/png', size: 1, storagePath: 'data-retention/room-file/evil.png', roomId, uploadedAt: new Date('2026-03-02T10:30:00Z') });
    // the entry names straight from the ZIP's central directory: no unzip tool may sanitise them for us
    const entryNames = (zip: Buffer): string[] => {
      const names: string[] = [];
      for (let i = zip.indexOf(CENTRAL); i >= 0; i = zip.indexOf(CENTRAL, i + 46)) {
        names.push(zip.toString('utf8', i + 46, i + 46 + zip.readUInt16LE(i + 28)));
      }
      return names;
    };
    const exp = await prepare({ list: { type: 'files', filters: { room: roomId } } });
    const caseZip = (await app.inject({ url: exp.downloadUrl, headers: { cookie: s.cookie } })).rawPayload;
    const roomZip = (await app.inject({ url: `/api/v1/rooms/${roomId}/export.zip`, headers: { cookie: s.cookie } })).rawPayload;
    for (const zip of [caseZip, roomZip]) {
      // its binary is not stored: manifest.json lists it as omitted, under the path it would have had
      const manifest = JSON.parse(((await unzipAll(zip)).get('manifest.json') as Buffer).toString('utf8')) as { entries: { path: string }[] };
      const paths = [...entryNames(zip), ...manifest.entries.map((e) => e.path)];
      expect(paths.some((p) => p.startsWith('media/') && p.endsWith('evil.png'))).toBe(true);
      for (const p of paths) expect(p.split('/'), p).not.toContain('..');
    }
  });

  it('a person keeps every stored version once the older one is marked superseded: counted, and in person.json', async () => {
    const contacts = t.db.collection(RECORD_COLLECTIONS.contacts);
    await contacts.updateOne({ contactId: f.contactId, name: `${f.contactName} (old)` }, { $set: { '_retention.superseded': true } });
    const page = await app.inject({ url: `/api/v1/contacts/${f.contactId}/timeline?limit=1`, headers: { cookie: s.cookie } });
    expect(page.json<{ person: unknown }>().person).toMatchObject({ name: f.contactName, versions: 2 });
    const exp = await prepare({ person: { kind: 'contact', id: f.contactId }, from: f.from.toISOString(), to: f.to.toISOString() });
    const files = await unzipAll((await app.inject({ url: exp.downloadUrl, headers: { cookie: s.cookie } })).rawPayload);
    const person = JSON.parse((files.get('person.json') as Buffer).toString('utf8')) as { name: string; versions: { item: { name: string } }[] };
    expect(person.name).toBe(f.contactName);
    expect(person.versions.map((v) => v.item.name)).toEqual([f.contactName, `${f.contactName} (old)`]);
  });

  it('a download that fails after its claim ends the export aborted, with an aborted audit entry (never streaming for ever)', async () => {
    // a stored query that no longer passes (as if a list type were removed): prepare() throws after the claim
    const id = 'review-broken-export';
    await t.db.collection<{ _id: string; [key: string]: unknown }>(PORTAL_COLLECTIONS.exports).insertOne({ _id: id, state: 'ready', query: { list: { type: 'nosuch', filters: {} } }, createdBy: AUDITOR.username, role: 'auditor', createdAt: new Date() });
    const dl = await app.inject({ url: `/api/v1/exports/${id}/download`, headers: { cookie: s.cookie } });
    expect(dl.json<{ code: string }>().code).toBe('VALIDATION');
    const after = await app.inject({ url: `/api/v1/exports/${id}`, headers: { cookie: s.cookie } });
    expect(after.json<{ state: string; error?: string }>()).toMatchObject({ state: 'aborted', error: expect.stringContaining('list.type') as unknown });
    const entries = await t.db.collection(PORTAL_COLLECTIONS.audit).find({ target: `exports/${id}` }).toArray();
    expect(entries.map((e): unknown[] => [(e.details as { phase: string }).phase, e.outcome])).toEqual([['aborted', 'failed']]);
  });

  it('caps: a party search or a person\'s rooms beyond maxIds is 400 QUERY_TOO_BROAD (a date range narrows it); a case export beyond maxExportEntries is 400 EXPORT_TOO_LARGE', async () => {
    const small = await portalApp(t.name, { portal: { ...DEFAULT_PORTAL_SETTINGS, limits: { maxIds: 1, maxExportEntries: 3 } } });
    try {
      const a = await login(small, AUDITOR);
      const get = async (url: string): Promise<{ status: number; body: { code?: string; items?: unknown[] } }> => {
        const res = await small.inject({ url, headers: { cookie: a.cookie } });
        return { status: res.statusCode, body: res.json() };
      };
      // his recordings: a call's and a conference's (2 files > 1)
      const broad = await get(`/api/v1/recordings?contact=${f.contactId}`);
      expect(broad.status).toBe(400);
      expect(broad.body.code).toBe('QUERY_TOO_BROAD');
      // the list's from/to restricts the calls and conferences looked at: only the 14:00 call
      const narrow = await get(`/api/v1/recordings?contact=${f.contactId}&from=2026-03-02T13:30:00Z&to=2026-03-02T14:30:00Z`);
      expect(narrow.status).toBe(200);
      // a person in more rooms than maxIds
      await t.db.collection(RECORD_COLLECTIONS.rooms).insertOne({ roomId: 'review-extra-room', type: 'direct', name: 'Extra', participants: [{ kind: 'contact', id: f.contactId }], createdAt: new Date('2026-03-01T08:00:00Z') });
      expect((await get(`/api/v1/contacts/${f.contactId}/timeline`)).body.code).toBe('QUERY_TOO_BROAD');
      // case exports are counted when prepared: his calls (3 with the other's) fit, every message does not
      const post = async (payload: Record<string, unknown>): Promise<{ status: number; code?: string }> => {
        const res = await small.inject({ method: 'POST', url: '/api/v1/exports', headers: a.headers, payload });
        return { status: res.statusCode, code: res.json<{ code?: string }>().code };
      };
      expect((await post({ list: { type: 'calls', filters: {} } })).status).toBe(201);
      expect(await post({ list: { type: 'messages', filters: {} } })).toEqual({ status: 400, code: 'EXPORT_TOO_LARGE' });
      // ... and again when downloaded: calls imported after it was prepared push it over the cap
      const prepared = await small.inject({ method: 'POST', url: '/api/v1/exports', headers: a.headers, payload: { list: { type: 'calls', filters: {} } } });
      expect(prepared.statusCode).toBe(201);
      const exportId = prepared.json<{ id: string }>().id;
      await t.db.collection(RECORD_COLLECTIONS.calls).insertMany([1, 2].map((i) => ({ callId: `review-late-call-${i}`, startedAt: new Date('2026-03-02T15:00:00Z'), direction: 'inbound', result: 'answered' })));
      const late = await small.inject({ url: `/api/v1/exports/${exportId}/download`, headers: { cookie: a.cookie } });
      expect([late.statusCode, late.json<{ code?: string }>().code]).toEqual([400, 'EXPORT_TOO_LARGE']);
      expect((await get(`/api/v1/exports/${exportId}`)).body).toMatchObject({ state: 'aborted' });
    } finally {
      await small.close();
    }
  });
});
