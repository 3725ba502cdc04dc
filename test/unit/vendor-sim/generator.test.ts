import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BSON } from 'mongodb';
import { MANIFEST_PATH, RECORD_FILES, type Manifest } from '../../../proxy/vendor-sim/index.js';
import { BASE_OPTIONS, collectDay } from './collect-day.js';

type Doc = Record<string, unknown>;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function parseLines(b: Buffer): Doc[] {
  return b.toString('utf8').split('\n').filter((l) => l !== '').map((l) => BSON.EJSON.parse(l, { relaxed: false }) as Doc);
}
function parseArray(b: Buffer): Doc[] {
  const parsed = BSON.EJSON.parse(b.toString('utf8'), { relaxed: false }) as unknown;
  if (!Array.isArray(parsed)) throw new Error('not an array');
  return parsed as Doc[];
}
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

describe('vendor-sim generator', () => {
  it('is deterministic: the same options give byte-identical entries, another seed gives other data', async () => {
    const a = await collectDay(BASE_OPTIONS);
    const b = await collectDay(BASE_OPTIONS);
    expect([...a.entries.keys()]).toEqual([...b.entries.keys()]);
    for (const [path, bytes] of a.entries) expect(sha256(bytes), path).toBe(sha256(b.entries.get(path) ?? Buffer.alloc(0)));
    const c = await collectDay({ ...BASE_OPTIONS, seed: 'other-seed' });
    expect(sha256(c.entries.get(RECORD_FILES.messages) ?? Buffer.alloc(0))).not.toBe(sha256(a.entries.get(RECORD_FILES.messages) ?? Buffer.alloc(0)));
  });

  it('keeps staff and contacts stable across days of one seed while the history changes', async () => {
    const d1 = await collectDay(BASE_OPTIONS);
    const d2 = await collectDay({ ...BASE_OPTIONS, createdAt: new Date('2026-03-02T02:00:00Z') });
    const ids = (e: Map<string, Buffer>, path: string, field: string): string[] => parseLines(e.get(path) ?? Buffer.alloc(0)).map((d) => str(d[field]));
    expect(ids(d2.entries, RECORD_FILES.staff, 'staffId')).toEqual(ids(d1.entries, RECORD_FILES.staff, 'staffId'));
    expect(ids(d2.entries, RECORD_FILES.contacts, 'contactId')).toEqual(ids(d1.entries, RECORD_FILES.contacts, 'contactId'));
    expect(ids(d2.entries, RECORD_FILES.messages, 'messageId')).not.toEqual(ids(d1.entries, RECORD_FILES.messages, 'messageId'));
    // The repeated records keep their `_id` too (docs/archive-format.md: "stable across days"), and their creation times.
    const oids = (e: Map<string, Buffer>, path: string, keep: (d: Doc) => boolean = () => true): string[] =>
      parseLines(e.get(path) ?? Buffer.alloc(0)).filter(keep).map((d) => `${String(d._id)} ${String(d.createdAt)}`);
    const standing = (d: Doc): boolean => d.type !== 'enquiry';
    for (const path of [RECORD_FILES.staff, RECORD_FILES.contacts]) expect(oids(d2.entries, path), path).toEqual(oids(d1.entries, path));
    expect(oids(d2.entries, RECORD_FILES.rooms, standing)).toEqual(oids(d1.entries, RECORD_FILES.rooms, standing));
    const files = (e: Map<string, Buffer>): string[] => oids(e, RECORD_FILES.files, (d) => d.category === 'avatar' || d.category === 'tag-icon');
    expect(files(d2.entries).length).toBeGreaterThan(0);
    expect(files(d2.entries)).toEqual(files(d1.entries));
  });

  it('three days of deliveries hold exactly one _id per staffId, contactId and standing roomId (issue 15)', async () => {
    const days = await Promise.all([1, 2, 3].map((d) => collectDay({ ...BASE_OPTIONS, createdAt: new Date(`2026-03-0${d}T02:00:00Z`) })));
    const checks: [string, string, (d: Doc) => boolean][] = [
      [RECORD_FILES.staff, 'staffId', () => true],
      [RECORD_FILES.contacts, 'contactId', () => true],
      [RECORD_FILES.rooms, 'roomId', (d) => d.type !== 'enquiry'],
    ];
    for (const [path, field, keep] of checks) {
      const docs = days.flatMap((d) => parseLines(d.entries.get(path) ?? Buffer.alloc(0)).filter(keep));
      const businessIds = new Set(docs.map((d) => str(d[field])));
      expect(businessIds.size, path).toBeGreaterThan(0);
      expect(new Set(docs.map((d) => String(d._id))).size, path).toBe(businessIds.size);
      expect(docs.length, path).toBe(3 * businessIds.size);
    }
  });

  it('writes canonical Extended JSON with _id and BSON types that survive the round trip', async () => {
    const { entries } = await collectDay(BASE_OPTIONS);
    const calls = entries.get(RECORD_FILES.calls)?.toString('utf8') ?? '';
    expect(calls).toContain('"$oid"');
    expect(calls).toContain('"$date":{"$numberLong"');
    expect(calls).toContain('"durationSec":{"$numberInt"');
    for (const path of Object.values(RECORD_FILES)) {
      const docs = parseLines(entries.get(path) ?? Buffer.alloc(0));
      expect(docs.length, path).toBeGreaterThan(0);
      for (const d of docs) expect(d._id, path).toBeInstanceOf(BSON.ObjectId);
    }
    const files = parseLines(entries.get(RECORD_FILES.files) ?? Buffer.alloc(0));
    expect(files[0]?.size).toBeInstanceOf(BSON.Long);
    expect(files[0]?.uploadedAt).toBeInstanceOf(Date);
  });

  it('keeps cross-references consistent: files, binaries, rooms, enquiries, staff and contacts', async () => {
    const { entries } = await collectDay(BASE_OPTIONS);
    const load = (p: string): Doc[] => parseLines(entries.get(p) ?? Buffer.alloc(0));
    const staff = new Set(load(RECORD_FILES.staff).map((d) => str(d.staffId)));
    const contacts = new Set(load(RECORD_FILES.contacts).map((d) => str(d.contactId)));
    const rooms = new Map(load(RECORD_FILES.rooms).map((d) => [str(d.roomId), d]));
    const enquiries = new Map(load(RECORD_FILES.enquiries).map((d) => [str(d.enquiryId), d]));
    const files = new Map(load(RECORD_FILES.files).map((d) => [str(d.fileId), d]));

    for (const [fileId, f] of files) {
      const bytes = entries.get(str(f.storagePath));
      expect(bytes, `binary of ${fileId}`).toBeDefined();
      expect(str(f.storagePath)).toMatch(new RegExp(`^data-retention/${str(f.category)}/${fileId}\\.[a-z0-9]+$`));
      expect(Number(f.size)).toBe(bytes?.length);
      expect(f.sha256).toBe(sha256(bytes ?? Buffer.alloc(0)));
    }
    for (const path of entries.keys()) if (path.startsWith('data-retention/')) expect([...files.values()].some((f) => f.storagePath === path), path).toBe(true);

    for (const e of enquiries.values()) {
      expect(rooms.get(str(e.roomId))?.enquiryId).toBe(e.enquiryId);
      expect(staff.has(str(e.assignee))).toBe(true);
      expect(contacts.has(str((e.customer as Doc).contactId))).toBe(true);
    }
    for (const r of rooms.values()) {
      for (const p of r.participants as Doc[]) expect((p.kind === 'staff' ? staff : contacts).has(str(p.id))).toBe(true);
    }
    let attachments = 0;
    for (const m of load(RECORD_FILES.messages)) {
      expect(rooms.has(str(m.roomId))).toBe(true);
      if (m.enquiryId !== undefined) expect(enquiries.get(str(m.enquiryId))?.roomId).toBe(m.roomId);
      for (const a of m.attachments as Doc[]) {
        attachments++;
        const f = files.get(str(a.fileId));
        expect(f?.messageId).toBe(m.messageId);
        expect(String(f?.size)).toBe(String(a.size));
      }
    }
    expect(attachments).toBeGreaterThan(0);
    let recordings = 0;
    for (const c of load(RECORD_FILES.calls)) {
      expect(rooms.has(str(c.roomId))).toBe(true);
      if (c.recordingFileId !== undefined) {
        recordings++;
        expect(c.result).toBe('answered');
        expect(files.get(str(c.recordingFileId))?.category).toBe('call-recording');
      }
      if (c.voicemailFileId !== undefined) expect(files.get(str(c.voicemailFileId))?.category).toBe('voicemail');
      if (c.result === 'voicemail') expect(c.voicemailFileId).toBeDefined();
    }
    expect(recordings).toBeGreaterThan(0);
    for (const c of load(RECORD_FILES.conferences)) {
      expect(staff.has(str(c.host))).toBe(true);
      if (c.recordingFileId !== undefined) expect(files.get(str(c.recordingFileId))?.conferenceId).toBe(c.conferenceId);
    }
  });

  it('writes the same documents in both layouts (lines and jsonArray)', async () => {
    const lines = await collectDay(BASE_OPTIONS);
    const array = await collectDay({ ...BASE_OPTIONS, layout: 'array' });
    for (const path of Object.values(RECORD_FILES)) {
      const fromArray = parseArray(array.entries.get(path) ?? Buffer.alloc(0));
      const fromLines = parseLines(lines.entries.get(path) ?? Buffer.alloc(0));
      expect(array.entries.get(path)?.toString('utf8').startsWith('[')).toBe(true);
      expect(BSON.EJSON.stringify(fromArray, { relaxed: false }), path).toBe(BSON.EJSON.stringify(fromLines, { relaxed: false }));
    }
  });

  it('writes a manifest that lists every other entry with its size, SHA-256 and record counts', async () => {
    const { day, entries } = await collectDay(BASE_OPTIONS);
    const manifest = JSON.parse(entries.get(MANIFEST_PATH)?.toString('utf8') ?? '') as Manifest;
    expect(manifest).toMatchObject({ version: 1, serviceId: BASE_OPTIONS.serviceId, jobId: BASE_OPTIONS.jobId, createdAt: BASE_OPTIONS.createdAt.toISOString() });
    const others = [...entries.keys()].filter((p) => p !== MANIFEST_PATH);
    expect(manifest.entries.map((e) => e.path).sort()).toEqual(others.sort());
    for (const e of manifest.entries) {
      const bytes = entries.get(e.path) ?? Buffer.alloc(0);
      expect(e.size, e.path).toBe(bytes.length);
      expect(e.sha256, e.path).toBe(sha256(bytes));
    }
    for (const path of Object.values(RECORD_FILES)) expect(manifest.records[path], path).toBe(parseLines(entries.get(path) ?? Buffer.alloc(0)).length);
    expect(day.recordCounts()).toEqual(manifest.records);
    expect(day.fileCount()).toBe(entries.size);
  });

  it('leaves the manifest out when switched off', async () => {
    const { entries, day } = await collectDay({ ...BASE_OPTIONS, manifest: false });
    expect(entries.has(MANIFEST_PATH)).toBe(false);
    expect(day.fileCount()).toBe(entries.size);
  });

  it('makes real media: PNG and JPEG signatures, WAV headers, and about mediaBytes in total', async () => {
    const { entries } = await collectDay({ ...BASE_OPTIONS, mediaBytes: 256 * 1024 });
    const media = [...entries].filter(([p]) => p.startsWith('data-retention/'));
    const png = media.filter(([p]) => p.endsWith('.png'));
    const jpg = media.filter(([p]) => p.endsWith('.jpg'));
    const wav = media.filter(([p]) => p.endsWith('.wav'));
    expect(png.length).toBeGreaterThan(0);
    expect(jpg.length).toBeGreaterThan(0);
    expect(wav.length).toBeGreaterThan(0);
    for (const [, b] of png) expect(b.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    for (const [, b] of jpg) expect([b.subarray(0, 2).toString('hex'), b.subarray(-2).toString('hex')]).toEqual(['ffd8', 'ffd9']);
    for (const [, b] of wav) {
      expect(b.subarray(0, 4).toString('latin1') + b.subarray(8, 12).toString('latin1')).toBe('RIFFWAVE');
      expect(b.readUInt32LE(40)).toBe(b.length - 44);
    }
    const total = media.reduce((s, [, b]) => s + b.length, 0);
    expect(total).toBeGreaterThan(256 * 1024 * 0.4);
    expect(total).toBeLessThan(256 * 1024 * 2.5);
  });
});
