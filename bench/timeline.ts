import { randomUUID } from 'node:crypto';
import { MongoClient, ObjectId, type Db, type Document } from 'mongodb';
import { pino } from 'pino';
import { buildApp } from '../proxy/app.js';
import { JobStore } from '../proxy/db/jobs.js';
import { Outbox } from '../proxy/db/outbox.js';
import { stampRecord } from '../proxy/importer/record-document.js';
import type { PipelineContext } from '../proxy/pipeline/context.js';
import { SyncRunner } from '../proxy/pipeline/sync-runner.js';
import { TIMELINE_SOURCES } from '../proxy/portal/person/sources.js';
import { DEFAULT_PORTAL_SETTINGS } from '../proxy/portal/context.js';
import { RECORD_COLLECTIONS } from '../proxy/portal/queries/types.js';
import { visible } from '../proxy/portal/queries/visible.js';
import { UserStore } from '../proxy/portal/users.js';
import type { BenchContext, BenchRow } from './types.js';
import { p50p95 } from './percentile.js';

/**
 * The person timeline (`GET /api/v1/contacts/:id/timeline`, one page of 50 over 7 days) against the sum of the bare
 * driver queries that return the same rows: the two look-ups of the person's rooms, then one find per record type
 * (filter, range, sort, limit 51) one after the other, timed and summed, plus the files of the page's voicemails
 * and recordings. The API adds the session check, validation, the person look-up, the merge, name resolution and
 * the audit entry; it runs the per-type queries in parallel. Target: API p95 <= 1.3x the driver sum's p95.
 *
 * Data (times BENCH_SCALE): 60 days of a contact centre with 40 staff and 2 000 contacts: 6 000 enquiries (one
 * room each), 120 000 messages, 20 000 calls (a tenth voicemail, a third recorded), 1 000 conferences, a room file
 * per 20 messages; the measured contact has about 1% of all enquiries and calls, as a busy customer would.
 */
const JOB = { jobId: '7b1e8d2f-3c4a-4b5f-9e0d-1c2b3d4e5f60', archive: 'backup_svc1001_7b1e8d2f-3c4a-4b5f-9e0d-1c2b3d4e5f60_20260501020000.zip' };
const BATCH = 1000;
const DAY = 86_400_000;
const START = Date.UTC(2026, 2, 1);
const DAYS = 60;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function insert(db: Db, collection: string, entry: string, docs: Document[]): Promise<void> {
  for (let i = 0; i < docs.length; i += BATCH) await db.collection(collection).insertMany(docs.slice(i, i + BATCH).map((d) => stampRecord(d, JOB, entry)), { ordered: false });
}

/** Generates the data set; returns the measured contact's id. */
async function generate(db: Db, scale: number, log: (m: string) => void): Promise<string> {
  const r = rng(15);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T;
  const at = (): Date => new Date(START + Math.floor(r() * DAYS * DAY));
  const staff = Array.from({ length: 40 }, () => randomUUID());
  const contacts = Array.from({ length: 2000 }, () => randomUUID());
  const target = contacts[0] as string;
  const contactOf = (): string => (r() < 0.01 ? target : pick(contacts));
  await insert(db, RECORD_COLLECTIONS.staff, 'lc-data-server/staff.json', staff.map((staffId, i) => ({ _id: new ObjectId(), staffId, displayName: `Staff ${i}`, email: `s${i}@example.com`, extension: String(1000 + i), department: 'CS', role: 'agent', status: 'active' })));
  await insert(db, RECORD_COLLECTIONS.contacts, 'dynamic-phonebook/contacts.json', contacts.map((contactId, i) => ({ _id: new ObjectId(), contactId, name: `Contact ${i}`, company: 'Co', phones: [{ label: 'mobile', number: `+852${String(90000000 + i)}` }], emails: [`c${i}@example.net`], tags: [] })));

  const enquiries: Document[] = [];
  const meta: { roomId: string; enquiryId: string; assignee: string; contactId: string; openedAt: Date }[] = [];
  const rooms: Document[] = [];
  for (let i = 0; i < Math.round(6000 * scale); i++) {
    const contactId = contactOf();
    const assignee = pick(staff);
    const roomId = randomUUID();
    const closedAt = at();
    const enquiryId = randomUUID();
    rooms.push({ _id: new ObjectId(), roomId, type: 'enquiry', name: `Enquiry ${i}`, participants: [{ kind: 'contact', id: contactId }, { kind: 'staff', id: assignee }], createdAt: new Date(closedAt.getTime() - 3_600_000), enquiryId });
    meta.push({ roomId, enquiryId, assignee, contactId, openedAt: new Date(closedAt.getTime() - 3_600_000) });
    enquiries.push({ _id: new ObjectId(), enquiryId, roomId, channel: 'webchat', customer: { contactId, name: 'x', phone: '+852', email: 'x@example.net' }, assignee, tags: [], subject: `Subject ${i}`, openedAt: new Date(closedAt.getTime() - 3_600_000), closedAt, closedBy: assignee, resolution: 'resolved', rating: null });
  }
  await insert(db, RECORD_COLLECTIONS.rooms, 'history/rooms.json', rooms);
  await insert(db, RECORD_COLLECTIONS.enquiries, 'lc-data-server/enquiries.json', enquiries);
  log(`timeline: ${enquiries.length} enquiries and rooms`);

  const messages: Document[] = [];
  const files: Document[] = [];
  for (let i = 0; i < Math.round(120_000 * scale); i++) {
    const e = pick(meta);
    const contact = e.contactId;
    const fromContact = r() < 0.5;
    const sentAt = new Date(e.openedAt.getTime() + Math.floor(r() * 3_600_000));
    const attachments: Document[] = [];
    if (i % 20 === 0) {
      const fileId = randomUUID();
      files.push({ _id: new ObjectId(), fileId, category: 'room-file', name: `f${i}.png`, mimeType: 'image/png', size: 100, sha256: 'x', storagePath: `data-retention/room-file/${fileId}.png`, roomId: e.roomId, ownerId: fromContact ? contact : e.assignee, uploadedAt: sentAt });
      attachments.push({ fileId, name: `f${i}.png`, mimeType: 'image/png', size: 100 });
    }
    messages.push({ _id: new ObjectId(), messageId: randomUUID(), roomId: e.roomId, enquiryId: e.enquiryId, sender: fromContact ? { kind: 'contact', id: contact, name: 'x' } : { kind: 'staff', id: e.assignee, name: 'y' }, type: attachments.length > 0 ? 'image' : 'text', text: `message ${i}`, attachments, sentAt, deleted: false });
    if (messages.length >= 20_000) {
      await insert(db, RECORD_COLLECTIONS.messages, 'history/messages.json', messages.splice(0));
      log(`timeline: messages ${i + 1}`);
    }
  }
  await insert(db, RECORD_COLLECTIONS.messages, 'history/messages.json', messages);

  const calls: Document[] = [];
  for (let i = 0; i < Math.round(20_000 * scale); i++) {
    const contact = contactOf();
    const s = pick(staff);
    const startedAt = at();
    const x = r();
    const callId = randomUUID();
    const roomId = randomUUID();
    const endedAt = new Date(startedAt.getTime() + 60_000);
    const call: Document = { _id: new ObjectId(), callId, kind: 'direct', roomId, from: { kind: 'contact', id: contact, number: '+852' }, to: { kind: 'staff', id: s, number: '1000' }, direction: 'inbound', startedAt, endedAt, durationSec: x < 0.1 ? 0 : 60, result: x < 0.1 ? 'voicemail' : 'answered' };
    if (x < 0.1 || x > 0.66) {
      const fileId = randomUUID();
      const category = x < 0.1 ? 'voicemail' : 'call-recording';
      call[x < 0.1 ? 'voicemailFileId' : 'recordingFileId'] = fileId;
      files.push({ _id: new ObjectId(), fileId, category, name: `${category}-${callId}.wav`, mimeType: 'audio/wav', size: 1000, sha256: 'x', storagePath: `data-retention/${category}/${fileId}.wav`, roomId, callId, uploadedAt: endedAt });
    }
    calls.push(call);
  }
  await insert(db, RECORD_COLLECTIONS.calls, 'history/calls.json', calls);
  const conferences: Document[] = [];
  for (let i = 0; i < Math.round(1000 * scale); i++) {
    const host = pick(staff);
    const contact = contactOf();
    const startedAt = at();
    conferences.push({ _id: new ObjectId(), conferenceId: randomUUID(), roomId: randomUUID(), title: `Conference ${i}`, host, startedAt, endedAt: new Date(startedAt.getTime() + 1_800_000), durationSec: 1800, participants: [{ kind: 'staff', id: host, name: 'h' }, { kind: 'contact', id: contact, name: 'c', number: '+852' }] });
  }
  await insert(db, RECORD_COLLECTIONS.conferences, 'history/conference-calls.json', conferences);
  await insert(db, RECORD_COLLECTIONS.files, 'file-management/files.json', files);
  log(`timeline: ${calls.length} calls, ${conferences.length} conferences, ${files.length} files`);
  return target;
}

export async function benchTimeline(ctx: BenchContext, mongoUri: string): Promise<BenchRow[]> {
  const client = new MongoClient(mongoUri);
  await client.connect();
  const dbName = `bench_timeline_${Date.now().toString(36)}`;
  const db = client.db(dbName);
  const appClient = new MongoClient(mongoUri);
  await appClient.connect();
  try {
    const t0 = performance.now();
    const contactId = await generate(db, ctx.scale, ctx.log);
    ctx.log(`timeline: data inserted in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const log = pino({ level: 'silent' });
    const appDb = appClient.db(dbName);
    const jobs = new JobStore(appDb, 60_000);
    const outbox = new Outbox(appDb, 60_000);
    const runner = new SyncRunner({ log, db: appDb, jobs, outbox } as unknown as PipelineContext, { retryTimer: false });
    // FerretDB 1.24 filters most of these queries in its own process (O(collection)): no 15 s limit in the way.
    const portal = { ...DEFAULT_PORTAL_SETTINGS, queries: { queryMs: 600_000, exportMs: 600_000 } };
    const app = await buildApp({ log, client: appClient, db: appDb, jobs, outbox, runner, portal });
    await app.ready();
    for (;;) {
      const ready = (await app.inject({ url: '/readyz' })).json<{ indexes?: { building: string[] } }>();
      if ((ready.indexes?.building.length ?? 0) === 0) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    await new UserStore(appDb).create('bench', 'Bench-Pass-1', 'auditor');
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'bench', password: 'Bench-Pass-1' } });
    const cookie = `rp_session=${login.cookies.find((c) => c.name === 'rp_session')?.value ?? ''}`;

    const to = new Date(START + 40 * DAY);
    const from = new Date(to.getTime() - 7 * DAY);
    const url = `/api/v1/contacts/${contactId}/timeline?from=${from.toISOString()}&to=${to.toISOString()}&limit=50`;
    /** The same rows through the bare driver: rooms, then each type's find, one after the other. */
    const driver = async (): Promise<number> => {
      const [rooms, enq] = [
        await db.collection(RECORD_COLLECTIONS.rooms).find(visible({ 'participants.id': contactId, createdAt: { $lte: to } }), { projection: { _id: 0, roomId: 1 } }).toArray(),
        await db.collection(RECORD_COLLECTIONS.enquiries).find(visible({ 'customer.contactId': contactId, closedAt: { $gte: from }, openedAt: { $lte: to } }), { projection: { _id: 0, roomId: 1 } }).toArray(),
      ];
      const scope = { kind: 'contact' as const, id: contactId, roomIds: [...new Set([...rooms, ...enq].map((d) => String(d.roomId)))] };
      let rows = 0;
      const fileIds: string[] = [];
      for (const s of TIMELINE_SOURCES) {
        const docs = await db.collection(s.collection).find(visible({ $and: [s.filter(scope), { [s.timeField]: { $gte: from, $lte: to } }] })).sort({ [s.timeField]: 1, _id: 1 }).limit(51).toArray();
        rows += docs.length;
        if (s.fileField) for (const d of docs) fileIds.push(String(d[s.fileField]));
      }
      if (fileIds.length > 0) await db.collection(RECORD_COLLECTIONS.files).find(visible({ fileId: { $in: fileIds } })).toArray();
      return rows;
    };
    const iterations = Number(process.env.BENCH_TIMELINE_ITERATIONS ?? 30);
    const ours: number[] = [];
    const peer: number[] = [];
    let items = 0;
    let candidates = 0;
    for (let i = -3; i < iterations; i++) {
      const a = performance.now();
      const res = await app.inject({ url, headers: { cookie } });
      const b = performance.now();
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
      items = res.json<{ items: unknown[] }>().items.length;
      candidates = await driver();
      const d = performance.now();
      if (i >= 0) {
        ours.push(b - a);
        peer.push(d - b);
      }
    }
    const { o50, o95, p50, p95 } = p50p95(ours, peer);
    ctx.log(`timeline: API p50 ${o50.toFixed(1)} ms p95 ${o95.toFixed(1)} ms (${items} rows); driver sum p50 ${p50.toFixed(1)} ms p95 ${p95.toFixed(1)} ms (${candidates} candidate rows)`);
    await app.close();
    return [{
      group: 'timeline',
      name: `person timeline, 50 of 7 days (${Math.round(120_000 * ctx.scale)} msgs, ${Math.round(20_000 * ctx.scale)} calls)`,
      ours: `p50 ${o50.toFixed(1)} ms, p95 ${o95.toFixed(1)} ms (${(o95 / p95).toFixed(2)}x driver)`,
      peer: `p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (sum of per-type finds)`,
      ratio: p95 / o95,
      target: '>= 0.77x (API p95 <= 1.3x driver sum)',
      pass: o95 <= 1.3 * p95,
      raw: { iterations, items, candidates, apiP50Ms: o50, apiP95Ms: o95, driverP50Ms: p50, driverP95Ms: p95 },
    }];
  } finally {
    await client.db(dbName).dropDatabase().catch(() => undefined);
    await client.close();
    await appClient.close().catch(() => undefined);
  }
}
