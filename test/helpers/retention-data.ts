import { createHash } from 'node:crypto';
import { BSON, GridFSBucket, type Db, type Document, type ObjectId } from 'mongodb';
import { recordSha256 } from '../../proxy/importer/record-document.js';
import { RECORD_COLLECTIONS } from '../../proxy/portal/queries/types.js';

/** Seeded PRNG (mulberry32): the same seed gives the same data, policies and holds. */
export function prng(seed: number): { next(): number; int(lo: number, hi: number): number; pick<T>(a: readonly T[]): T; chance(p: number): boolean } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: <T>(arr: readonly T[]): T => arr[int(0, arr.length - 1)] as T, chance: (p) => next() < p };
}

const DAY = 86_400_000;
type Category = 'room-file' | 'voicemail' | 'call-recording' | 'conference-recording' | 'avatar' | 'tag-icon';

export interface GeneratedData {
  now: Date;
  /** collection -> documents as stored */
  docs: Map<string, Document[]>;
  /** storagePath -> sha256 of the bytes */
  media: Map<string, string>;
}

function archiveName(at: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const ts = `${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  return `backup_svc1_00000000-0000-4000-8000-000000000001_${ts}.zip`;
}

function stamp(doc: Document, deliveredAt: Date, entry: string): Document {
  const sha256 = recordSha256(doc);
  return { ...doc, _retention: { jobId: '00000000-0000-4000-8000-000000000001', archive: archiveName(deliveredAt), entry, sha256 } };
}

/**
 * Records of every type (staff, contacts, rooms, enquiries, messages, calls, conferences, files) with their media in
 * GridFS `media`, dated over the last ~12 years relative to `now`, inserted directly (as the importer stores them).
 */
export async function generateRetentionData(db: Db, seed: number, size = 1, now = new Date()): Promise<GeneratedData> {
  const r = prng(seed);
  const ago = (maxDays: number): Date => new Date(now.getTime() - r.int(0, maxDays) * DAY - r.int(0, DAY - 1));
  const docs = new Map<string, Document[]>();
  const add = (col: string, d: Document): void => {
    if (!docs.has(col)) docs.set(col, []);
    docs.get(col)?.push(d);
  };
  const n = (k: number): number => Math.max(1, Math.round(k * size));
  const staff = Array.from({ length: n(6) }, (_, i) => `s${i}`);
  const contacts = Array.from({ length: n(6) }, (_, i) => `c${i}`);
  const people = [...staff, ...contacts];
  for (const id of staff) add(RECORD_COLLECTIONS.staff, stamp({ _id: `staff-${id}`, staffId: id, displayName: `Staff ${id}`, department: r.pick(['sales', 'support', 'legal']) }, ago(4000), 'lc-data-server/staff.json'));
  for (const id of contacts) add(RECORD_COLLECTIONS.contacts, stamp({ _id: `contact-${id}`, contactId: id, name: `Contact ${id}` }, ago(4000), 'dynamic-phonebook/contacts.json'));
  const rooms = Array.from({ length: n(8) }, (_, i) => `r${i}`);
  for (const id of rooms) {
    add(RECORD_COLLECTIONS.rooms, stamp({ _id: new BSON.ObjectId(), roomId: id, name: `Room ${id}`, type: 'group', createdAt: ago(4000), participants: [{ kind: 'staff', id: r.pick(staff) }, { kind: 'contact', id: r.pick(contacts) }] }, now, 'history/rooms.json'));
  }
  const enquiries = Array.from({ length: n(8) }, (_, i) => `e${i}`);
  for (const id of enquiries) {
    add(RECORD_COLLECTIONS.enquiries, stamp({ _id: new BSON.ObjectId(), enquiryId: id, channel: r.pick(['web', 'phone', 'mail']), roomId: r.pick(rooms), assignee: r.pick(staff), customer: { contactId: r.pick(contacts), name: 'x' }, subject: `Enquiry ${id}`, closedAt: ago(4000) }, now, 'lc-data-server/enquiries.json'));
  }
  const media = new Map<string, string>();
  const bucket = new GridFSBucket(db, { bucketName: 'media' });
  let fileNo = 0;
  const file = async (category: Category, link: Document, at: Date): Promise<string> => {
    const fileId = `f${fileNo++}`;
    const storagePath = `data-retention/${category}/${fileId}.bin`;
    const bytes = Buffer.from(`${seed}:${fileId}:`.repeat(r.int(1, 400)));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    media.set(storagePath, sha256);
    add(RECORD_COLLECTIONS.files, stamp({ _id: new BSON.ObjectId(), fileId, category, name: `${fileId}.bin`, size: bytes.length, sha256, storagePath, uploadedAt: at, ...link }, now, 'file-management/files.json'));
    await new Promise<void>((resolve, reject) => {
      const up = bucket.openUploadStreamWithId(storagePath as unknown as ObjectId, storagePath, { metadata: { sha256, size: bytes.length, jobId: 'j', archive: archiveName(now), contentType: 'application/octet-stream' } });
      up.once('finish', () => resolve()).once('error', reject);
      up.end(bytes);
    });
    return fileId;
  };
  for (let i = 0; i < n(30); i++) {
    const roomId = r.pick(rooms);
    const sentAt = ago(4000);
    const messageId = `m${i}`;
    add(RECORD_COLLECTIONS.messages, stamp({ _id: new BSON.ObjectId(), messageId, roomId, ...(r.chance(0.5) ? { enquiryId: r.pick(enquiries) } : {}), sender: { kind: 'staff', id: r.pick(people) }, type: 'text', text: `hello ${i}`, sentAt }, now, 'history/messages.json'));
    if (r.chance(0.3)) await file('room-file', { roomId, messageId, ownerId: r.pick(people) }, sentAt);
  }
  for (let i = 0; i < n(16); i++) {
    const roomId = r.pick(rooms);
    const startedAt = ago(4000);
    const callId = `k${i}`;
    const rec = r.chance(0.5) ? await file(r.pick(['call-recording', 'voicemail'] as const), { roomId, callId }, startedAt) : undefined;
    add(RECORD_COLLECTIONS.calls, stamp({ _id: new BSON.ObjectId(), callId, roomId, ...(r.chance(0.5) ? { enquiryId: r.pick(enquiries) } : {}), from: { id: r.pick(people), number: '1' }, to: { id: r.pick(people), number: '2' }, startedAt, ...(rec ? { recordingFileId: rec } : {}) }, now, 'history/calls.json'));
  }
  for (let i = 0; i < n(8); i++) {
    const roomId = r.pick(rooms);
    const startedAt = ago(4000);
    const conferenceId = `q${i}`;
    const rec = r.chance(0.5) ? await file('conference-recording', { roomId, conferenceId }, startedAt) : undefined;
    add(RECORD_COLLECTIONS.conferences, stamp({ _id: new BSON.ObjectId(), conferenceId, roomId, host: r.pick(staff), participants: [{ id: r.pick(people) }], title: `Conf ${i}`, startedAt, ...(rec ? { recordingFileId: rec } : {}) }, now, 'history/conference-calls.json'));
  }
  for (const id of staff.slice(0, n(3))) await file('avatar', { ownerId: id }, ago(4000));
  await file('tag-icon', {}, ago(4000));
  for (const [col, list] of docs) await db.collection(col).insertMany(list);
  return { now, docs, media };
}

/** sha256 of every collection's documents (sorted by _id, canonical EJSON), except those named in `skip`. */
export async function databaseHash(db: Db, skip: readonly string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => !skip.includes(n)).sort();
  for (const name of names) {
    const h = createHash('sha256');
    for await (const d of db.collection(name).find({}).sort({ _id: 1 })) h.update(BSON.EJSON.stringify(d, { relaxed: false })).update('\n');
    out[name] = h.digest('hex');
  }
  return out;
}

/** The bytes of a stored binary, hashed. */
export async function mediaSha256(db: Db, storagePath: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of new GridFSBucket(db, { bucketName: 'media' }).openDownloadStream(storagePath as unknown as ObjectId)) h.update(c as Buffer);
  return h.digest('hex');
}
