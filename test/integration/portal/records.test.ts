import type { FastifyInstance } from 'fastify';
import type { Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIST_DEFS, LIST_TYPES, RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';
import { importSimulatorDay, PORTAL_ARCHIVE, PORTAL_JOB_ID } from '../../helpers/portal-data.js';

interface Page { items: (Record<string, unknown> & { id: string })[]; nextCursor: string | null }

describe('portal record lists and details over an imported simulator day', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let s: Login;
  const get = async (url: string): Promise<{ status: number; body: Page & { code?: string } & Record<string, unknown> }> => {
    const res = await app.inject({ url, headers: { cookie: s.cookie } });
    return { status: res.statusCode, body: res.json() };
  };
  const all = async (url: string, limit = 7): Promise<Page['items']> => {
    const out: Page['items'] = [];
    let cursor: string | null = null;
    do {
      const sep = url.includes('?') ? '&' : '?';
      const r = await get(`${url}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      out.push(...r.body.items);
      cursor = r.body.nextCursor;
    } while (cursor);
    return out;
  };
  const docs = (name: keyof typeof RECORD_COLLECTIONS, filter: Document = {}): Promise<Document[]> => t.db.collection(RECORD_COLLECTIONS[name]).find(filter).toArray();

  beforeAll(async () => {
    t = await testDatabase('portal_records');
    await importSimulatorDay(t.db);
    app = await portalApp(t.name);
    await createUsers(t.db);
    s = await login(app, AUDITOR);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('every list answers with rows that carry id and no _id/_retention, newest first on its main date', async () => {
    for (const type of LIST_TYPES) {
      const r = await get(`/api/v1/${type}?limit=5`);
      expect(r.status, type).toBe(200);
      expect(r.body.items.length, type).toBeGreaterThan(0);
      for (const row of r.body.items) {
        expect(typeof row.id).toBe('string');
        expect(row).not.toHaveProperty('_id');
        expect(row).not.toHaveProperty('_retention');
      }
      const def = LIST_DEFS[type];
      const keys = r.body.items.map((row) => row[def.defaultSort] as string);
      const sorted = [...keys].sort();
      expect(keys, type).toEqual(def.defaultOrder === 'asc' ? sorted : sorted.reverse());
    }
  });

  it('cursor pagination visits every row exactly once, in order, for asc and desc', async () => {
    const calls = await docs('calls');
    const desc = await all('/api/v1/calls');
    expect(desc.map((c) => c.id).sort()).toEqual(calls.map((c) => c.callId as string).sort());
    expect(new Set(desc.map((c) => c.id)).size).toBe(desc.length);
    const times = desc.map((c) => c.startedAt as string);
    expect(times).toEqual([...times].sort().reverse());
    const asc = await all('/api/v1/calls?sort=durationSec&order=asc', 11);
    expect(asc).toHaveLength(calls.length);
    const durations = asc.map((c) => c.durationSec as number);
    expect(durations).toEqual([...durations].sort((a, b) => a - b));
    // A cursor from another sort is refused.
    const first = await get('/api/v1/calls?limit=2');
    const other = await get(`/api/v1/calls?limit=2&sort=durationSec&cursor=${first.body.nextCursor ?? ''}`);
    expect([other.status, other.body.code]).toEqual([400, 'VALIDATION']);
  });

  it('filters: date range, staff, contact, room, enquiry, channel, direction, result, tag, category, number', async () => {
    const calls = await docs('calls');
    const sample = calls.find((c) => c.kind === 'enquiry') ?? calls[0];
    if (!sample) throw new Error('no calls');
    const from = new Date((sample.startedAt as Date).getTime() - 1).toISOString();
    const to = new Date((sample.startedAt as Date).getTime() + 1).toISOString();
    const inRange = await all(`/api/v1/calls?from=${from}&to=${to}`);
    expect(inRange.map((c) => c.id)).toContain(sample.callId);
    expect(inRange.every((c) => (c.startedAt as string) >= from && (c.startedAt as string) <= to)).toBe(true);

    const byNumber = await all(`/api/v1/calls?number=${encodeURIComponent((sample.from as { number: string }).number.slice(-6))}`);
    expect(byNumber.map((c) => c.id)).toContain(sample.callId);

    const staffId = ((sample.from as { kind: string }).kind === 'staff' ? sample.from : sample.to) as { id: string };
    const byStaff = await all(`/api/v1/calls?staff=${staffId.id}`);
    expect(byStaff.length).toBe(calls.filter((c) => (c.from as { id: string }).id === staffId.id || (c.to as { id: string }).id === staffId.id).length);

    for (const [param, field] of [['direction', 'direction'], ['result', 'result'], ['room', 'roomId']] as const) {
      const value = sample[field] as string;
      const rows = await all(`/api/v1/calls?${param}=${encodeURIComponent(value)}`);
      expect(rows.length, param).toBe(calls.filter((c) => c[field] === value).length);
    }

    const enquiries = await docs('enquiries');
    const e = enquiries.find((x) => (x.tags as string[]).length > 0) ?? enquiries[0];
    if (!e) throw new Error('no enquiries');
    for (const [param, value, count] of [
      ['channel', e.channel as string, enquiries.filter((x) => x.channel === e.channel).length],
      ['tag', (e.tags as string[])[0] ?? '', enquiries.filter((x) => (x.tags as string[]).includes((e.tags as string[])[0] ?? '')).length],
      ['contact', (e.customer as { contactId: string }).contactId, enquiries.filter((x) => (x.customer as { contactId: string }).contactId === (e.customer as { contactId: string }).contactId).length],
      ['staff', e.assignee as string, enquiries.filter((x) => x.assignee === e.assignee).length],
    ] as const) {
      expect((await all(`/api/v1/enquiries?${param}=${encodeURIComponent(value)}`)).length, param).toBe(count);
    }
    const msgs = await all(`/api/v1/messages?enquiry=${e.enquiryId as string}`, 50);
    expect(msgs.length).toBe((await docs('messages', { enquiryId: e.enquiryId as string })).length);

    const files = await docs('files');
    const voicemails = await all('/api/v1/voicemails', 50);
    expect(voicemails.length).toBe(files.filter((f) => f.category === 'voicemail').length);
    const recordings = await all('/api/v1/recordings?category=call-recording', 50);
    expect(recordings.length).toBe(files.filter((f) => f.category === 'call-recording').length);
    expect((await all('/api/v1/files?category=avatar', 50)).length).toBe(files.filter((f) => f.category === 'avatar').length);
  });

  it('q searches literally and case-insensitively; names find calls; regex and operator input is inert', async () => {
    const messages = await docs('messages');
    const withText = messages.find((m) => typeof m.text === 'string' && m.text.split(' ').length > 2);
    if (!withText) throw new Error('no text messages');
    const word = (withText.text as string).split(' ')[1] ?? '';
    const hits = await all(`/api/v1/messages?q=${encodeURIComponent(word.toUpperCase())}`, 100);
    expect(hits.map((m) => m.id)).toContain(withText.messageId);
    expect(hits.every((m) => (m.text as string).toLowerCase().includes(word.toLowerCase()))).toBe(true);

    expect((await get('/api/v1/messages?q=.*')).body.items).toHaveLength(0);
    expect((await get(`/api/v1/messages?q=${encodeURIComponent('^(a+)+$')}`)).body.items).toHaveLength(0);
    for (const hostile of ['q[$ne]=x', 'room[$ne]=x', 'q=a&q=b', 'staff[$regex]=.*', '$where=1', 'sort=_retention', 'limit=100000', 'from=yesterday']) {
      const r = await get(`/api/v1/messages?${hostile}`);
      expect([r.status, r.body.code], hostile).toEqual([400, 'VALIDATION']);
    }
    // A JSON-looking value is just text.
    expect((await get(`/api/v1/calls?room=${encodeURIComponent('{"$ne":""}')}`)).body.items).toHaveLength(0);

    const staff = (await docs('staff'))[0];
    const staffCalls = await docs('calls', { $or: [{ 'from.id': staff?.staffId as string }, { 'to.id': staff?.staffId as string }] });
    if (staff && staffCalls.length > 0) {
      const named = await all(`/api/v1/calls?q=${encodeURIComponent((staff.displayName as string).toLowerCase())}`, 100);
      expect(named.map((c) => c.id)).toEqual(expect.arrayContaining(staffCalls.map((c) => c.callId as string)));
    }
  });

  it('rows resolve names and counts: call parties, enquiry assignee, room participants and activity, voicemail call', async () => {
    const calls = (await get('/api/v1/calls?limit=20')).body.items;
    expect(calls.some((c) => typeof (c.from as { name?: unknown }).name === 'string')).toBe(true);
    const enquiry = (await get('/api/v1/enquiries?limit=1')).body.items[0];
    expect(typeof enquiry?.assigneeName).toBe('string');
    const rooms = (await get('/api/v1/rooms?limit=10')).body.items;
    const messages = await docs('messages');
    for (const room of rooms) {
      expect(room.messageCount).toBe(messages.filter((m) => m.roomId === room.id).length);
      expect((room.participants as { name: unknown }[]).every((p) => typeof p.name === 'string')).toBe(true);
    }
    const vm = (await get('/api/v1/voicemails?limit=1')).body.items[0];
    expect((vm?.call as { callId?: string } | undefined)?.callId).toBe(vm?.callId);
  });

  it('details: provenance, the enquiry thread in time order, room stats, call recording and enquiry; unknown id is 404', async () => {
    const enquiry = (await docs('enquiries'))[0];
    if (!enquiry) throw new Error('no enquiry');
    const d = await get(`/api/v1/enquiries/${enquiry.enquiryId as string}`);
    expect(d.status).toBe(200);
    expect(d.body.provenance).toMatchObject({ jobId: PORTAL_JOB_ID, archive: PORTAL_ARCHIVE, entry: 'lc-data-server/enquiries.json' });
    expect((d.body.provenance as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((d.body.room as { id: string }).id).toBe(enquiry.roomId);
    const thread = d.body.thread as { kind: string; at: string; item: { id: string } }[];
    const msgIds = (await docs('messages', { enquiryId: enquiry.enquiryId as string })).map((m) => m.messageId as string);
    expect(thread.filter((x) => x.kind === 'message').map((x) => x.item.id).sort()).toEqual(msgIds.sort());
    expect(thread.map((x) => x.at)).toEqual([...thread.map((x) => x.at)].sort());

    const room = (await docs('rooms'))[0];
    const rd = await get(`/api/v1/rooms/${room?.roomId as string}`);
    expect(rd.body.stats).toMatchObject({ messageCount: (await docs('messages', { roomId: room?.roomId as string })).length });

    const recorded = (await docs('calls', { recordingFileId: { $exists: true } }))[0];
    if (recorded) {
      const cd = await get(`/api/v1/calls/${recorded.callId as string}`);
      expect((cd.body.recording as { id: string }).id).toBe(recorded.recordingFileId);
    }
    const missing = await get('/api/v1/calls/00000000-0000-0000-0000-000000000000');
    expect([missing.status, missing.body.code]).toEqual([404, 'NOT_FOUND']);
    const audit = await t.db.collection('portal.audit').find({ action: 'record.view', user: AUDITOR.username }).toArray();
    expect(audit.map((a): unknown => a.target)).toContain(`enquiries/${enquiry.enquiryId as string}`);
  });

  it('a search (list with q) is written to the audit log with its filters', async () => {
    await get('/api/v1/contacts?q=lau&tag=vip');
    const entry = await t.db.collection('portal.audit').findOne({ action: 'search', target: 'contacts' }, { sort: { at: -1 } });
    expect(entry).toMatchObject({ user: AUDITOR.username, role: 'auditor', outcome: 'ok', details: { filters: { q: 'lau', tag: 'vip' } } });
  });
});
