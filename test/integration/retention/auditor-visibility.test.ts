import type { FastifyInstance } from 'fastify';
import type { Document } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIST_DEFS, LIST_TYPES, RECORD_COLLECTIONS, type ListTypeName } from '../../../proxy/portal/queries/types.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import type { DataType, PolicyScope } from '../../../proxy/retention/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';
import { importSimulatorDay } from '../../helpers/portal-data.js';

type Item = Record<string, unknown> & { id: string };

describe('retention: an auditor reaches no archived record by list, search, detail, export or media URL', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let s: Login;
  const get = async (url: string): Promise<{ status: number; body: string }> => {
    const res = await app.inject({ url, headers: { cookie: s.cookie } });
    return { status: res.statusCode, body: res.body };
  };
  const all = async (url: string): Promise<Item[]> => {
    const out: Item[] = [];
    let cursor: string | null = null;
    do {
      const r = await get(`${url}${url.includes('?') ? '&' : '?'}limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status, url).toBe(200);
      const page = JSON.parse(r.body) as { items: Item[]; nextCursor: string | null };
      out.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  };
  const ids = (def: (typeof LIST_DEFS)[ListTypeName], archived: boolean): Promise<string[]> =>
    t.db.collection(def.collection).find({ $and: [def.base ?? {}, { _archived: { $exists: archived } }] }).toArray().then((d) => d.map((x) => String(x[def.idField])));

  beforeAll(async () => {
    t = await testDatabase('ret_auditor');
    await importSimulatorDay(t.db, { records: 400, mediaBytes: 64 * 1024 });
    // Half of the rooms (and what is in them), one channel, one department, every contact, every call recording.
    const rooms = (await t.db.collection(RECORD_COLLECTIONS.rooms).find({}).toArray()).map((r) => String(r.roomId)).filter((_, i) => i % 2 === 0);
    const staff = await t.db.collection(RECORD_COLLECTIONS.staff).findOne({});
    const enquiry = await t.db.collection(RECORD_COLLECTIONS.enquiries).findOne({});
    const svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 10_000, nodeId: 'test', batchPauseMs: 0 });
    const scopes: [DataType, PolicyScope][] = [
      ['rooms', { kind: 'room', ids: rooms }], ['messages', { kind: 'room', ids: rooms }], ['calls', { kind: 'room', ids: rooms }],
      ['conferences', { kind: 'room', ids: rooms }], ['files', { kind: 'room', ids: rooms }],
      ['enquiries', { kind: 'channel', values: [String(enquiry?.channel)] }], ['staff', { kind: 'department', values: [String(staff?.department)] }],
      ['contacts', { kind: 'all' }], ['media:call-recording', { kind: 'all' }], ['media:voicemail', { kind: 'all' }],
    ];
    for (const [i, [dataType, scope]] of scopes.entries()) {
      await svc.createPolicy({ id: `a${i}`, name: `A${i}`, dataType, scope, activeDays: 1, archiveDays: 5000 }, 'admin');
      await svc.setPolicyMode(`a${i}`, 'enforce', `A${i}`, 'admin');
    }
    const run = await svc.run({ trigger: 'manual', requestedBy: 'test' });
    expect(run.errors).toEqual([]);
    app = await portalApp(t.name);
    await createUsers(t.db);
    s = await login(app, AUDITOR);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('every list and every export (csv, json) holds exactly the records that are not archived', async () => {
    for (const type of LIST_TYPES) {
      const def = LIST_DEFS[type];
      const [visible, hidden] = await Promise.all([ids(def, false), ids(def, true)]);
      if (type !== 'voicemails' && type !== 'recordings') expect(hidden.length, `${type} has archived records`).toBeGreaterThan(0);
      expect((await all(`/api/v1/${type}`)).map((r) => r.id).sort(), type).toEqual([...visible].sort());
      const json = await get(`/api/v1/${type}/export.json`);
      expect(json.status).toBe(200);
      expect((JSON.parse(json.body) as Item[]).map((r) => r.id).sort(), `${type} export.json`).toEqual([...visible].sort());
      const csv = await get(`/api/v1/${type}/export.csv`);
      expect(csv.status).toBe(200);
      for (const id of hidden) expect(csv.body.includes(id) && !visible.some((v) => v.includes(id)), `${type} export.csv has ${id}`).toBe(false);
    }
  });

  it('search (q) finds no archived record, even by its exact text', async () => {
    const hidden = await t.db.collection(RECORD_COLLECTIONS.messages).find({ _archived: { $exists: true }, text: { $type: 'string' } }).limit(5).toArray();
    expect(hidden.length).toBeGreaterThan(0);
    for (const m of hidden) {
      const found = await all(`/api/v1/messages?q=${encodeURIComponent(String(m.text).slice(0, 40))}`);
      expect(found.map((r) => r.id)).not.toContain(m.messageId);
    }
  });

  it('details of an archived record are 404 NOT_FOUND; threads, room messages and names leave archived ones out', async () => {
    for (const type of LIST_TYPES) {
      for (const id of (await ids(LIST_DEFS[type], true)).slice(0, 5)) {
        const r = await get(`/api/v1/${type}/${encodeURIComponent(id)}`);
        expect([r.status, (JSON.parse(r.body) as { code?: string }).code], `${type}/${id}`).toEqual([404, 'NOT_FOUND']);
      }
    }
    for (const e of (await all('/api/v1/enquiries')).slice(0, 10)) {
      const r = JSON.parse((await get(`/api/v1/enquiries/${encodeURIComponent(e.id)}`)).body) as { thread?: { kind: string; item: Item }[]; room?: Item };
      for (const x of r.thread ?? []) expect(await t.db.collection(collectionOfThreadItem(x)).countDocuments({ _archived: { $exists: true }, ...idFilter(x) })).toBe(0);
    }
    for (const room of (await all('/api/v1/rooms')).slice(0, 10)) {
      const r = JSON.parse((await get(`/api/v1/rooms/${encodeURIComponent(room.id)}`)).body) as { recentMessages: Item[] };
      for (const m of r.recentMessages) expect(await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ messageId: m.id, _archived: { $exists: true } })).toBe(0);
    }
    const hiddenStaff = new Set((await ids(LIST_DEFS.staff, true)));
    for (const e of await all('/api/v1/enquiries')) if (hiddenStaff.has(String(e.assignee))) expect(e.assigneeName ?? '', `name of archived staff ${String(e.assignee)}`).toBe('');
  });

  it('media of an archived file record, and archived media of a visible one, are 404 NOT_FOUND', async () => {
    const files = await t.db.collection(RECORD_COLLECTIONS.files).find({}).toArray();
    const archivedMedia = new Set((await t.db.collection('media.files').find({ 'metadata.archived': { $exists: true } }).toArray()).map((m) => String(m._id)));
    expect(archivedMedia.size).toBeGreaterThan(0);
    let hidden = 0;
    for (const f of files) {
      const gone = f._archived !== undefined || archivedMedia.has(String(f.storagePath));
      const r = await get(`/api/v1/media/${encodeURIComponent(String(f.fileId))}`);
      if (gone) {
        hidden++;
        expect([r.status, (JSON.parse(r.body) as { code?: string }).code], String(f.fileId)).toEqual([404, 'NOT_FOUND']);
        expect((await get(`/api/v1/media/${encodeURIComponent(String(f.fileId))}/verify`)).status).toBe(404);
      } else expect(r.status, String(f.fileId)).toBe(200);
    }
    expect(hidden).toBeGreaterThan(0);
    const enquiry = await t.db.collection(RECORD_COLLECTIONS.enquiries).findOne({ _archived: { $exists: true } });
    expect((await get(`/api/v1/enquiries/${encodeURIComponent(String(enquiry?.enquiryId))}/export.zip`)).status).toBe(404);
  });
});

function collectionOfThreadItem(x: { kind: string }): string {
  const k = x.kind;
  return k === 'message' ? RECORD_COLLECTIONS.messages : k === 'call' ? RECORD_COLLECTIONS.calls : k === 'conference' ? RECORD_COLLECTIONS.conferences : RECORD_COLLECTIONS.files;
}

function idFilter(x: { kind: string; item: Item }): Document {
  const k = x.kind;
  const field = k === 'message' ? 'messageId' : k === 'call' ? 'callId' : k === 'conference' ? 'conferenceId' : 'fileId';
  return { [field]: x.item.id };
}
