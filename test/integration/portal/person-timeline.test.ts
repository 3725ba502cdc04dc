import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTAL_COLLECTIONS } from '../../../proxy/portal/collections.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { seedPerson, type PersonFixture } from '../../helpers/person-data.js';
import { ADMIN, AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';
import { unzipAll } from '../../helpers/unzip.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Entry { type: string; label: string; at: string; link: { list: string; id: string }; item: Record<string, unknown>; provenance: { archive: string } | null }
interface Page { items: Entry[]; nextCursor: string | null; person: { name: string; versions: number }; code?: string }

describe('person timeline and case export', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let s: Login;
  let f: PersonFixture;
  const get = async (url: string, who: Login = s): Promise<{ status: number; body: Page }> => {
    const res = await app.inject({ url, headers: { cookie: who.cookie } });
    return { status: res.statusCode, body: res.json() };
  };
  const range = (from: Date, to: Date): string => `from=${from.toISOString()}&to=${to.toISOString()}`;
  const walk = async (url: string, limit: number): Promise<Entry[]> => {
    const out: Entry[] = [];
    let cursor: string | null = null;
    do {
      const r = await get(`${url}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(limit);
      out.push(...r.body.items);
      cursor = r.body.nextCursor;
    } while (cursor);
    return out;
  };
  const pairs = (items: Entry[]): [string, string][] => items.map((e) => [e.type, e.link.id]);

  beforeAll(async () => {
    t = await testDatabase('person_timeline');
    f = await seedPerson(t.db);
    app = await portalApp(t.name);
    await createUsers(t.db);
    s = await login(app, AUDITOR);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('merges every type in time order (same instant: the fixed type order), with replies in his rooms, hiding archived and out-of-range rows', async () => {
    const r = await get(`/api/v1/contacts/${f.contactId}/timeline?${range(f.from, f.to)}`);
    expect(r.status).toBe(200);
    expect(pairs(r.body.items)).toEqual(f.expected);
    expect(r.body.nextCursor).toBeNull();
    const ids = r.body.items.map((e) => e.link.id);
    for (const id of f.absent) expect(ids).not.toContain(id);
    // voicemails and recordings are the files, with the call they belong to
    const vm = r.body.items.find((e) => e.type === 'voicemail');
    expect(vm?.link.list).toBe('voicemails');
    expect((vm?.item.call as { callId: string }).callId).toBe(f.expected[5]?.[1]);
    expect(r.body.items.every((e) => e.provenance !== null && !('_retention' in e.item) && !('_id' in e.item))).toBe(true);
  });

  it('the same rows whatever the page size: the cursor carries (time, type, _id) across types', async () => {
    for (const limit of [1, 2, 3, 5]) expect(pairs(await walk(`/api/v1/contacts/${f.contactId}/timeline?${range(f.from, f.to)}`, limit)), `limit ${limit}`).toEqual(f.expected);
  });

  it('a narrower range keeps only its rows; a legacy duplicate contact is one person with both versions counted', async () => {
    const r = await get(`/api/v1/contacts/${f.contactId}/timeline?${range(new Date('2026-03-02T13:00:00Z'), new Date('2026-03-02T14:00:00Z'))}`);
    expect(pairs(r.body.items)).toEqual(f.expected.slice(5, 9));
    expect(r.body.person).toMatchObject({ name: f.contactName, versions: 2 });
  });

  it('a staff member sees her enquiry, her calls and messages in all her rooms', async () => {
    const r = await get(`/api/v1/staff/${f.staffId}/timeline?${range(f.from, f.to)}&limit=200`);
    const types = r.body.items.map((e) => e.type);
    expect(types).toContain('enquiry');
    expect(r.body.items.filter((e) => e.type === 'call')).toHaveLength(3);
    expect(r.body.items.map((e) => e.item.text)).toContain('to someone else');
  });

  it('refuses what it cannot answer: unknown person 404, from after to and a foreign cursor 400; every read is audited', async () => {
    expect((await get(`/api/v1/contacts/nobody/timeline`)).body.code).toBe('NOT_FOUND');
    expect((await get(`/api/v1/contacts/${f.contactId}/timeline?${range(f.to, f.from)}`)).body.code).toBe('VALIDATION');
    expect((await get(`/api/v1/contacts/${f.contactId}/timeline?cursor=abc`)).body.code).toBe('VALIDATION');
    expect((await get(`/api/v1/contacts/${f.contactId}/timeline?nosuch=1`)).body.code).toBe('VALIDATION');
    const entry = await t.db.collection(PORTAL_COLLECTIONS.audit).findOne({ target: `contacts/${f.contactId}/timeline`, user: AUDITOR.username });
    expect(entry?.action).toBe('list');
  });

  it('case export: every record and file of the range, a manifest whose hashes match, the ZIP hash in the export and the audit log, escaped transcript', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/v1/exports', headers: s.headers, payload: { person: { kind: 'contact', id: f.contactId }, from: f.from.toISOString(), to: f.to.toISOString() } });
    expect(created.statusCode).toBe(201);
    const exp = created.json<{ id: string; state: string; downloadUrl: string }>();
    expect(exp.state).toBe('ready');

    const dl = await app.inject({ url: exp.downloadUrl, headers: { cookie: s.cookie } });
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['content-type']).toBe('application/zip');
    const zip = dl.rawPayload;
    const files = await unzipAll(zip);

    const manifest = JSON.parse((files.get('manifest.json') as Buffer).toString('utf8')) as { entries: { path: string; sha256?: string; size?: number }[]; exportedBy: { username: string }; query: { person: { id: string } }; sources: { archive: string }[]; counts: Record<string, number> };
    expect(manifest.entries.map((e) => e.path).sort()).toEqual([...files.keys()].filter((p) => p !== 'manifest.json').sort());
    for (const e of manifest.entries) expect(e.sha256, e.path).toBe(sha256(files.get(e.path) as Buffer));
    expect(manifest.exportedBy.username).toBe(AUDITOR.username);
    expect(manifest.query.person.id).toBe(f.contactId);
    expect(manifest.sources.map((x) => x.archive).sort()).toEqual([f.archives[1]]);

    // exactly the timeline's records, each with its provenance
    const inZip: [string, string][] = [];
    for (const [path, body] of files) {
      if (!path.startsWith('records/')) continue;
      for (const e of JSON.parse(body.toString('utf8')) as Entry[]) {
        expect(e.provenance?.archive).toBeTruthy();
        inZip.push([e.type, e.link.id]);
      }
    }
    expect(inZip.sort()).toEqual([...f.expected].sort());
    const person = JSON.parse((files.get('person.json') as Buffer).toString('utf8')) as { versions: unknown[] };
    expect(person.versions).toHaveLength(2);
    // every media file, byte for byte
    const mediaEntries = [...files.keys()].filter((p) => p.startsWith('media/'));
    expect(mediaEntries).toHaveLength(f.media.size);
    for (const [fileId, bytes] of f.media) {
      const path = mediaEntries.find((p) => p.startsWith(`media/${fileId}-`));
      expect(path, fileId).toBeDefined();
      expect(files.get(path as string)?.equals(bytes)).toBe(true);
    }
    // the transcript: readable, escaped, no script
    const html = (files.get('transcript.html') as Buffer).toString('utf8');
    expect(html).not.toMatch(/<script|<img|<a [^>]*on\w+=/i);
    expect(html).toContain('&#60;script&#62;');
    expect(html).toContain('Sure, refunded.');
    expect(html).toContain("default-src 'none'");

    // chain of custody: the ZIP's hash is the export's and the audit log's
    const zipHash = sha256(zip);
    const after = await get(`/api/v1/exports/${exp.id}`);
    expect(after.body).toMatchObject({ state: 'done', sha256: zipHash, size: zip.length });
    const audit = await t.db.collection(PORTAL_COLLECTIONS.audit).find({ target: `exports/${exp.id}` }).sort({ seq: 1 }).toArray();
    expect(audit.map((a) => (a.details as { phase: string }).phase)).toEqual(['start', 'done']);
    expect((audit[1]?.details as { sha256: string }).sha256).toBe(zipHash);

    // one download per export; other auditors' exports are not visible
    expect((await app.inject({ url: exp.downloadUrl, headers: { cookie: s.cookie } })).json<{ code: string }>().code).toBe('EXPORT_USED');
    const admin = await login(app, ADMIN);
    expect((await get(`/api/v1/exports/${exp.id}`, admin)).body).toMatchObject({ sha256: zipHash });
    // only its creator downloads a prepared export
    const other = await app.inject({ method: 'POST', url: '/api/v1/exports', headers: s.headers, payload: { person: { kind: 'contact', id: f.contactId } } });
    expect((await app.inject({ url: other.json<{ downloadUrl: string }>().downloadUrl, headers: { cookie: admin.cookie } })).json<{ code: string }>().code).toBe('NOT_FOUND');
  });

  it('case export of a list with its filters: exactly the filtered rows with provenance, their media, hashes matching; bad filters 400', async () => {
    const bad = await app.inject({ method: 'POST', url: '/api/v1/exports', headers: s.headers, payload: { list: { type: 'calls', filters: { nosuch: 'x' } } } });
    expect(bad.json<{ code: string }>().code).toBe('VALIDATION');
    const both = await app.inject({ method: 'POST', url: '/api/v1/exports', headers: s.headers, payload: { list: { type: 'calls' }, person: { kind: 'contact', id: f.contactId } } });
    expect(both.json<{ code: string }>().code).toBe('VALIDATION');
    const filters = { contact: f.contactId, from: f.from.toISOString(), to: f.to.toISOString() };
    const created = await app.inject({ method: 'POST', url: '/api/v1/exports', headers: s.headers, payload: { list: { type: 'calls', filters } } });
    expect(created.statusCode).toBe(201);
    const dl = await app.inject({ url: created.json<{ downloadUrl: string }>().downloadUrl, headers: { cookie: s.cookie } });
    expect(dl.statusCode).toBe(200);
    const files = await unzipAll(dl.rawPayload);
    const manifest = JSON.parse((files.get('manifest.json') as Buffer).toString('utf8')) as { entries: { path: string; sha256?: string }[]; query: unknown };
    for (const e of manifest.entries) expect(e.sha256, e.path).toBe(sha256(files.get(e.path) as Buffer));
    expect(manifest.query).toEqual({ list: 'calls', filters });
    const calls = JSON.parse((files.get('records/calls.json') as Buffer).toString('utf8')) as Entry[];
    expect(calls.map((e) => e.link.id).sort()).toEqual(f.expected.filter(([type]) => type === 'call').map(([, id]) => id).sort());
    expect(calls.every((e) => e.provenance !== null)).toBe(true);
    const media = [...files.keys()].filter((p) => p.startsWith('media/')).map((p) => p.slice(6, 42)).sort();
    expect(media).toEqual(f.expected.filter(([type]) => type === 'voicemail' || type === 'call-recording').map(([, id]) => id).sort());
    expect((files.get('transcript.html') as Buffer).toString('utf8')).toContain('inbound call, voicemail');
  });
});
