import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { GridFSBucket, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_BUCKET } from '../../../proxy/importer/index.js';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';
import { importSimulatorDay } from '../../helpers/portal-data.js';
import { unzipAll } from '../../helpers/unzip.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** RFC 4180 parser, enough to check what we write. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += c;
  }
  return rows;
}

describe('portal media and exports over an imported simulator day', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let s: Login;
  let voicemail: Document;
  let stored: Buffer;

  beforeAll(async () => {
    t = await testDatabase('portal_media');
    await importSimulatorDay(t.db, { mediaBytes: 1024 * 1024 });
    app = await portalApp(t.name);
    await createUsers(t.db);
    s = await login(app, AUDITOR);
    const vm = await t.db.collection(RECORD_COLLECTIONS.files).findOne({ category: 'voicemail' }, { sort: { size: -1 } });
    if (!vm) throw new Error('the simulator day has no voicemail');
    voicemail = vm;
    const parts: Buffer[] = [];
    for await (const c of new GridFSBucket(t.db, { bucketName: MEDIA_BUCKET }).openDownloadStream(vm.storagePath as never)) parts.push(c as Buffer);
    stored = Buffer.concat(parts);
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('streams a file with its type, length, sha256 ETag and inline disposition; the bytes are the stored ones', async () => {
    const res = await app.inject({ url: `/api/v1/media/${voicemail.fileId as string}`, headers: { cookie: s.cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('audio/wav');
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers.etag).toBe(`"${voicemail.sha256 as string}"`);
    expect(res.headers['x-content-sha256']).toBe(voicemail.sha256);
    expect(res.headers['content-disposition']).toBe('inline');
    expect(Number(res.headers['content-length'])).toBe(voicemail.size);
    expect(sha256(res.rawPayload)).toBe(voicemail.sha256);
    const dl = await app.inject({ url: `/api/v1/media/${voicemail.fileId as string}?download=1`, headers: { cookie: s.cookie } });
    expect(dl.headers['content-disposition']).toBe(`attachment; filename="${voicemail.name as string}"`);
  });

  it('honours Range: 206 with Content-Range for a-b, a- and -n; 416 beyond the end', async () => {
    const size = stored.length;
    const url = `/api/v1/media/${voicemail.fileId as string}`;
    for (const [range, start, end] of [['bytes=0-99', 0, 99], [`bytes=${size - 10}-`, size - 10, size - 1], ['bytes=-300', size - 300, size - 1], ['bytes=1000-300000000', 1000, size - 1]] as const) {
      const r = await app.inject({ url, headers: { cookie: s.cookie, range } });
      expect(r.statusCode, range).toBe(206);
      expect(r.headers['content-range'], range).toBe(`bytes ${start}-${end}/${size}`);
      expect(r.rawPayload.equals(stored.subarray(start, end + 1)), range).toBe(true);
    }
    const bad = await app.inject({ url, headers: { cookie: s.cookie, range: `bytes=${size}-` } });
    expect([bad.statusCode, bad.json<{ code: string }>().code]).toEqual([416, 'RANGE_NOT_SATISFIABLE']);
    expect(bad.headers['content-range']).toBe(`bytes */${size}`);
    const missing = await app.inject({ url: '/api/v1/media/no-such-file', headers: { cookie: s.cookie } });
    expect([missing.statusCode, missing.json<{ code: string }>().code]).toEqual([404, 'NOT_FOUND']);
  });

  it('verify re-hashes the stored bytes, and reports a mismatch when they were altered', async () => {
    const ok = await app.inject({ url: `/api/v1/media/${voicemail.fileId as string}/verify`, headers: { cookie: s.cookie } });
    expect(ok.json()).toEqual({ fileId: voicemail.fileId as string, sha256Recorded: voicemail.sha256 as string, sha256Computed: voicemail.sha256 as string, ok: true });
    const other = await t.db.collection(RECORD_COLLECTIONS.files).findOne({ category: 'room-file' });
    if (!other) throw new Error('no room file');
    const chunks = t.db.collection(`${MEDIA_BUCKET}.chunks`);
    const chunk = await chunks.findOne({ files_id: other.storagePath as never, n: 0 });
    const data = Buffer.from((chunk?.data as { buffer: Uint8Array }).buffer);
    data[0] = (data[0] ?? 0) ^ 0xff;
    await chunks.updateOne({ _id: chunk?._id }, { $set: { data } });
    const bad = await app.inject({ url: `/api/v1/media/${other.fileId as string}/verify`, headers: { cookie: s.cookie } });
    expect(bad.json()).toMatchObject({ ok: false, sha256Recorded: other.sha256 as string });
  });

  it('play and download are audited once per playback (not per seek)', async () => {
    const audit = t.db.collection('portal.audit');
    const before = await audit.countDocuments({ action: 'media.play' });
    await app.inject({ url: `/api/v1/media/${voicemail.fileId as string}`, headers: { cookie: s.cookie, range: 'bytes=0-' } });
    await app.inject({ url: `/api/v1/media/${voicemail.fileId as string}`, headers: { cookie: s.cookie, range: 'bytes=5000-' } });
    expect(await audit.countDocuments({ action: 'media.play' })).toBe(before + 1);
    expect(await audit.findOne({ action: 'media.download' })).toMatchObject({ user: AUDITOR.username, target: `media/${voicemail.fileId as string}`, ip: '127.0.0.1' });
  });

  it('exports a filtered list as CSV (header, RFC 4180 quoting, every row) and JSON (an array), streamed as attachments', async () => {
    const calls = await t.db.collection(RECORD_COLLECTIONS.calls).find({ direction: 'inbound' }).toArray();
    const csv = await app.inject({ url: '/api/v1/calls/export.csv?direction=inbound', headers: { cookie: s.cookie } });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="calls-\d{8}T\d{6}Z\.csv"$/);
    const rows = parseCsv(csv.body);
    expect(rows[0]?.slice(0, 4)).toEqual(['id', 'kind', 'direction', 'result']);
    expect(rows.length - 1).toBe(calls.length);
    expect(rows.slice(1).every((r) => r[2] === 'inbound')).toBe(true);
    expect(rows.slice(1).map((r) => r[0]).sort()).toEqual(calls.map((c) => c.callId as string).sort());

    const messages = await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({});
    const json = await app.inject({ url: '/api/v1/messages/export.json', headers: { cookie: s.cookie } });
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    const items = json.json<{ id: string; sentAt: string }[]>();
    expect(items).toHaveLength(messages);
    expect(items.every((m) => typeof m.id === 'string' && !('_retention' in m))).toBe(true);
    const empty = await app.inject({ url: '/api/v1/messages/export.json?q=no-such-text-anywhere', headers: { cookie: s.cookie } });
    expect(empty.json()).toEqual([]);

    const exported = await t.db.collection('portal.audit').find({ action: 'export' }).toArray();
    expect(exported.map((e) => e.target as string)).toEqual(expect.arrayContaining(['calls', 'messages']));
    expect(exported.find((e) => e.target === 'calls')?.details).toMatchObject({ format: 'csv', filters: { direction: 'inbound' } });
  });

  it('exports an enquiry as a ZIP: records, every media file and a manifest whose sha256s match the contents', async () => {
    const withCall = await t.db.collection(RECORD_COLLECTIONS.calls).findOne({ kind: 'enquiry', $or: [{ recordingFileId: { $exists: true } }, { voicemailFileId: { $exists: true } }] });
    const enquiryId = (withCall?.enquiryId ?? (await t.db.collection(RECORD_COLLECTIONS.enquiries).findOne({}))?.enquiryId) as string;
    const res = await app.inject({ url: `/api/v1/enquiries/${enquiryId}/export.zip`, headers: { cookie: s.cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    const files = await unzipAll(res.rawPayload);
    const names = [...files.keys()];
    expect(names).toEqual(expect.arrayContaining(['enquiry.json', 'messages.json', 'calls.json', 'manifest.json']));
    const enquiry = JSON.parse(files.get('enquiry.json')?.toString('utf8') ?? '{}') as { enquiry: { id: string } };
    expect(enquiry.enquiry.id).toBe(enquiryId);
    const messages = JSON.parse(files.get('messages.json')?.toString('utf8') ?? '[]') as { id: string }[];
    expect(messages).toHaveLength(await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ enquiryId }));
    const manifest = JSON.parse(files.get('manifest.json')?.toString('utf8') ?? '{}') as { entries: { path: string; size: number; sha256: string }[] };
    expect(manifest.entries.map((e) => e.path).sort()).toEqual(names.filter((n) => n !== 'manifest.json').sort());
    for (const e of manifest.entries) {
      expect(files.get(e.path)?.length, e.path).toBe(e.size);
      expect(sha256(files.get(e.path) ?? Buffer.alloc(0)), e.path).toBe(e.sha256);
    }
    if (withCall) {
      const fileId = (withCall.recordingFileId ?? withCall.voicemailFileId) as string;
      const media = names.find((n) => n.startsWith(`media/${fileId}-`));
      expect(media).toBeDefined();
      const rec = await t.db.collection(RECORD_COLLECTIONS.files).findOne({ fileId });
      expect(sha256(files.get(media ?? '') ?? Buffer.alloc(0))).toBe(rec?.sha256);
    }
    expect(await t.db.collection('portal.audit').findOne({ action: 'export', target: `enquiries/${enquiryId}` })).toMatchObject({ details: { format: 'zip' } });
  });

  it('exports a room as a ZIP with room.json, conferences and files', async () => {
    const room = await t.db.collection(RECORD_COLLECTIONS.rooms).findOne({ type: 'group' });
    const res = await app.inject({ url: `/api/v1/rooms/${room?.roomId as string}/export.zip`, headers: { cookie: s.cookie } });
    const files = await unzipAll(res.rawPayload);
    expect([...files.keys()]).toEqual(expect.arrayContaining(['room.json', 'messages.json', 'calls.json', 'conferences.json', 'files.json', 'manifest.json']));
    const missing = await app.inject({ url: '/api/v1/rooms/nope/export.zip', headers: { cookie: s.cookie } });
    expect(missing.statusCode).toBe(404);
  });
});
