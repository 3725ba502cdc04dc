import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { majority } from '../../../proxy/db/write-concern.js';
import { stampCallTimes } from '../../../proxy/importer/call-times.js';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';

const BEN = 'c0000000-0000-4000-8000-00000000000b';
const GRACE = 'c0000000-0000-4000-8000-00000000000c';
const ALICE = 's0000000-0000-4000-8000-00000000000a';
const BEN_STAFF = 's0000000-0000-4000-8000-00000000000b';
const at = (h: number): Date => new Date(Date.UTC(2026, 2, 1, h));
const party = (kind: 'staff' | 'contact', id: string, number: string): Record<string, string> => ({ kind, id, number });
const file = (fileId: string, category: string, owner: Record<string, string>, h: number): Record<string, unknown> =>
  ({ fileId, category, name: `${category}-${fileId}.wav`, mimeType: 'audio/wav', size: 1000, sha256: 'a'.repeat(64), storagePath: `data-retention/${category}/${fileId}.wav`, roomId: 'r1', uploadedAt: at(h), ...owner });

interface Row { id: string; call?: { from: { name: string | null }; to: { name: string | null }; durationSec: number }; conference?: { title: string } }

/**
 * Find by person: voicemails and recordings are found by the parties of their call or conference (not by the
 * uploader), and their search matches those parties' names and numbers.
 */
describe('voicemails and recordings found by person', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let s: Login;
  const ids = async (url: string): Promise<string[]> => {
    const res = await app.inject({ url, headers: { cookie: s.cookie } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: Row[] }>().items.map((r) => r.id).sort();
  };

  beforeAll(async () => {
    t = await testDatabase('find_person');
    const db = t.db;
    await db.collection(RECORD_COLLECTIONS.contacts).insertMany([
      { contactId: BEN, name: 'Ben Yip', phones: [{ label: 'mobile', number: '+85261234567' }] },
      { contactId: GRACE, name: 'Grace Lau', phones: [{ label: 'mobile', number: '+85290000000' }] },
    ]);
    await db.collection(RECORD_COLLECTIONS.staff).insertMany([
      { staffId: ALICE, displayName: 'Alice Chan', extension: '1001' },
      { staffId: BEN_STAFF, displayName: 'Ben Yip', extension: '1002' }, // a staff member with the customer's name
    ]);
    await db.collection(RECORD_COLLECTIONS.calls).insertMany([
      { callId: 'call-1', from: party('contact', BEN, '+85261234567'), to: party('staff', ALICE, '1001'), startedAt: at(1), durationSec: 184, result: 'answered', recordingFileId: 'f1' },
      { callId: 'call-2', from: party('contact', BEN, '+85261234567'), to: party('staff', ALICE, '1001'), startedAt: at(2), durationSec: 0, result: 'voicemail', voicemailFileId: 'f2' },
      { callId: 'call-3', from: party('contact', GRACE, '+85290000000'), to: party('staff', BEN_STAFF, '1002'), startedAt: at(3), durationSec: 60, result: 'answered', recordingFileId: 'f3' },
    ]);
    await db.collection(RECORD_COLLECTIONS.conferences).insertOne({
      conferenceId: 'conf-1', title: 'Order review', host: ALICE, startedAt: at(4), durationSec: 600, recordingFileId: 'f4',
      participants: [{ kind: 'staff', id: ALICE, name: 'Alice Chan' }, { kind: 'contact', id: BEN, name: 'Ben Yip', number: '+85261234567' }],
    });
    // The files' ownerId is the uploader (here: nobody's or Alice's), which must not decide who they are about.
    await db.collection(RECORD_COLLECTIONS.files).insertMany([
      // Uploaded in the opposite order of their calls: the lists must follow the calls.
      file('f1', 'call-recording', { callId: 'call-1' }, 9),
      file('f2', 'voicemail', { callId: 'call-2', ownerId: ALICE }, 8),
      file('f3', 'call-recording', { callId: 'call-3', ownerId: BEN }, 7),
      file('f4', 'conference-recording', { conferenceId: 'conf-1' }, 6),
    ]);
    // What the importer does after each archive (and the one-time migration for older databases).
    expect(await stampCallTimes(db, {}, majority(10_000))).toBe(4);
    app = await portalApp(t.name);
    await createUsers(db);
    s = await login(app, AUDITOR);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it("Contact and Staff filters match the call's or conference's parties, not the file's uploader", async () => {
    expect(await ids(`/api/v1/recordings?contact=${BEN}`)).toEqual(['f1', 'f4']);
    expect(await ids(`/api/v1/voicemails?contact=${BEN}`)).toEqual(['f2']);
    expect(await ids(`/api/v1/recordings?staff=${ALICE}`)).toEqual(['f1', 'f4']);
    expect(await ids(`/api/v1/voicemails?staff=${ALICE}`)).toEqual(['f2']);
    expect(await ids(`/api/v1/recordings?staff=${BEN_STAFF}`)).toEqual(['f3']);
    expect(await ids(`/api/v1/recordings?contact=${GRACE}&staff=${BEN_STAFF}`)).toEqual(['f3']);
    expect(await ids(`/api/v1/recordings?contact=${GRACE}&staff=${ALICE}`)).toEqual([]);
    const csv = await app.inject({ url: `/api/v1/recordings/export.json?contact=${BEN}`, headers: { cookie: s.cookie } });
    expect(csv.json<Row[]>().map((r) => r.id).sort()).toEqual(['f1', 'f4']);
  });

  it("search matches the parties' numbers and names, as well as the file name", async () => {
    expect(await ids('/api/v1/recordings?q=61234567')).toEqual(['f1', 'f4']);
    expect(await ids('/api/v1/voicemails?q=%2B85261234567')).toEqual(['f2']);
    expect(await ids('/api/v1/recordings?q=grace')).toEqual(['f3']);
    expect(await ids('/api/v1/recordings?q=conference-recording-f4')).toEqual(['f4']);
    expect(await ids('/api/v1/voicemails?q=nobody-at-all')).toEqual([]);
  });

  it('sorts, pages and filters by the call or conference time the rows show', async () => {
    const ordered = async (url: string): Promise<string[]> => {
      const res = await app.inject({ url, headers: { cookie: s.cookie } });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ items: Row[] }>().items.map((r) => r.id);
    };
    expect(await ordered('/api/v1/recordings')).toEqual(['f4', 'f3', 'f1']);
    expect(await ordered('/api/v1/recordings?sort=callStartedAt&order=asc')).toEqual(['f1', 'f3', 'f4']);
    expect(await ordered('/api/v1/recordings?sort=uploadedAt&order=desc')).toEqual(['f1', 'f3', 'f4']);
    const first = await app.inject({ url: '/api/v1/recordings?limit=2', headers: { cookie: s.cookie } });
    const next = first.json<{ nextCursor: string }>().nextCursor;
    expect(await ordered(`/api/v1/recordings?limit=2&cursor=${next}`)).toEqual(['f1']);
    expect(await ordered(`/api/v1/recordings?from=${at(2).toISOString()}`)).toEqual(['f4', 'f3']);
    expect(await ordered(`/api/v1/voicemails?to=${at(1).toISOString()}`)).toEqual([]);
  });

  it('rows show the parties by name and the call duration', async () => {
    const res = await app.inject({ url: `/api/v1/recordings?contact=${BEN}`, headers: { cookie: s.cookie } });
    const rows = res.json<{ items: Row[] }>().items;
    const f1 = rows.find((r) => r.id === 'f1');
    expect(f1?.call).toMatchObject({ from: { name: 'Ben Yip' }, to: { name: 'Alice Chan' }, durationSec: 184 });
    expect(rows.find((r) => r.id === 'f4')?.conference).toMatchObject({ title: 'Order review', durationSec: 600 });
  });
});
