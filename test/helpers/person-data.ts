import { createHash, randomUUID } from 'node:crypto';
import { GridFSBucket, ObjectId, type Db, type Document } from 'mongodb';
import { MEDIA_BUCKET } from '../../proxy/importer/index.js';
import { RECORD_COLLECTIONS } from '../../proxy/portal/queries/types.js';

/** Hostile text: must come out escaped in every transcript and page. */
export const HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & \'quoted\'';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const archiveName = (day: number): string => `backup_svc1001_5f2b8c1e-7a3d-4e6f-9b0c-1d2e3f4a5b6c_202603${String(day).padStart(2, '0')}020000.zip`;
const stamp = (day: number, entry: string): Document => ({
  jobId: '5f2b8c1e-7a3d-4e6f-9b0c-1d2e3f4a5b6c', archive: archiveName(day), createdAt: new Date(Date.UTC(2026, 2, day, 2)), entry, sha256: sha(`${day}${entry}`),
});

export interface PersonFixture {
  contactId: string;
  staffId: string;
  contactName: string;
  /** The range that holds exactly `expected` for the contact. */
  from: Date;
  to: Date;
  /** What the contact's timeline over [from, to] must show, in order: [type, linked id]. */
  expected: [string, string][];
  /** Media in the contact's export: fileId -> bytes. */
  media: Map<string, Buffer>;
  /** Hidden or out of range: ids that must not appear. */
  absent: string[];
  archives: string[];
}

/**
 * A small, hand-made history around one contact (two stored versions, as a legacy database holds them) and one
 * staff member: an enquiry with its room's messages (hers and his), a voicemail, a recorded call, a conference with
 * its recording, a room file, records at the same instant (tie-break), archived and out-of-range records, and
 * hostile text. Times are in March 2026.
 */
export async function seedPerson(db: Db, opts: { contactName?: string } = {}): Promise<PersonFixture> {
  const contactId = randomUUID();
  const staffId = randomUUID();
  const otherId = randomUUID();
  const contactName = opts.contactName ?? 'Ben Yip';
  const roomId = randomUUID();
  const otherRoom = randomUUID();
  const enquiryId = randomUUID();
  const t = (day: number, h: number, m = 0): Date => new Date(Date.UTC(2026, 2, day, h, m));
  const col = (n: keyof typeof RECORD_COLLECTIONS) => db.collection(RECORD_COLLECTIONS[n]);
  const media = new Map<string, Buffer>();
  const bucket = new GridFSBucket(db, { bucketName: MEDIA_BUCKET });
  const file = async (category: string, name: string, mimeType: string, extra: Document, bytes: Buffer, at: Date): Promise<string> => {
    const fileId = randomUUID();
    const storagePath = `data-retention/${category}/${fileId}.${name.split('.').pop() ?? 'bin'}`;
    await col('files').insertOne({ _id: new ObjectId(), fileId, category, name, mimeType, size: bytes.length, sha256: sha(bytes), storagePath, ...extra, uploadedAt: at, _retention: stamp(3, 'file-management/files.json') });
    await new Promise<void>((resolve, reject) => {
      const up = bucket.openUploadStreamWithId(storagePath as never, storagePath, { metadata: { sha256: sha(bytes), size: bytes.length, contentType: mimeType, jobId: 'x', archive: archiveName(3) } });
      up.once('finish', () => resolve()).once('error', reject).end(bytes);
    });
    media.set(fileId, bytes);
    return fileId;
  };

  await col('contacts').insertMany([
    { _id: new ObjectId(), contactId, name: `${contactName} (old)`, company: 'Harbour', phones: [{ label: 'mobile', number: '+85291230000' }], emails: ['ben@example.net'], tags: [], _retention: stamp(1, 'dynamic-phonebook/contacts.json') },
    { _id: new ObjectId(), contactId, name: contactName, company: 'Harbour', phones: [{ label: 'mobile', number: '+85291230000' }], emails: ['ben@example.net'], tags: [], _retention: stamp(2, 'dynamic-phonebook/contacts.json') },
    { _id: new ObjectId(), contactId: otherId, name: 'Someone Else', company: 'X', phones: [], emails: [], tags: [], _retention: stamp(2, 'dynamic-phonebook/contacts.json') },
  ]);
  await col('staff').insertOne({ _id: new ObjectId(), staffId, displayName: 'Alice Chan', email: 'a@example.com', extension: '1001', department: 'CS', role: 'agent', status: 'active', _retention: stamp(2, 'lc-data-server/staff.json') });
  await col('rooms').insertMany([
    { _id: new ObjectId(), roomId, type: 'enquiry', name: 'Refund', participants: [{ kind: 'contact', id: contactId }, { kind: 'staff', id: staffId }], createdAt: t(1, 9), enquiryId, _retention: stamp(2, 'history/rooms.json') },
    { _id: new ObjectId(), roomId: otherRoom, type: 'enquiry', name: 'Other', participants: [{ kind: 'contact', id: otherId }, { kind: 'staff', id: staffId }], createdAt: t(1, 9), _retention: stamp(2, 'history/rooms.json') },
  ]);
  await col('enquiries').insertOne({ _id: new ObjectId(), enquiryId, roomId, channel: 'whatsapp', customer: { contactId, name: contactName, phone: '+85291230000', email: 'ben@example.net' }, assignee: staffId, tags: [], subject: HOSTILE, openedAt: t(2, 9), closedAt: t(2, 12), closedBy: staffId, resolution: 'resolved', rating: null, _retention: stamp(3, 'lc-data-server/enquiries.json') });

  const attachment = await file('room-file', `${HOSTILE}.png`, 'image/png', { roomId, ownerId: contactId }, Buffer.from('png-bytes-of-ben'), t(2, 10, 1));
  const att = media.get(attachment) as Buffer;
  const msg = (sender: Document, text: string, at: Date, room = roomId, extra: Document = {}): Document => ({ _id: new ObjectId(), messageId: randomUUID(), roomId: room, enquiryId, sender, type: 'text', text, attachments: [], sentAt: at, deleted: false, ...extra, _retention: stamp(3, 'history/messages.json') });
  const ben = { kind: 'contact', id: contactId, name: contactName };
  const alice = { kind: 'staff', id: staffId, name: 'Alice Chan' };
  const m1 = msg(ben, `Hello, I want a refund ${HOSTILE}`, t(2, 10));
  const m2 = msg(ben, 'photo', t(2, 10, 1), roomId, { type: 'image', attachments: [{ fileId: attachment, name: `${HOSTILE}.png`, mimeType: 'image/png', size: att.length }] });
  const m3 = msg(alice, 'Sure, refunded.', t(2, 11)); // a reply in his room
  const mArchived = msg(alice, 'archived line', t(2, 11, 30), roomId, { _archived: { runId: 'r', policyId: 'p', at: t(3, 0) } });
  const mOther = msg(alice, 'to someone else', t(2, 11, 40), otherRoom);
  const mEarly = msg(ben, 'before the range', t(1, 10));
  await col('messages').insertMany([m1, m2, m3, mArchived, mOther, mEarly]);

  const callId = randomUUID();
  const vmCallId = randomUUID();
  const voicemail = await file('voicemail', 'voicemail.wav', 'audio/wav', { roomId, callId: vmCallId }, Buffer.from('RIFF-voicemail-bytes'), t(2, 13, 2));
  const recording = await file('call-recording', 'recording.wav', 'audio/wav', { roomId, callId }, Buffer.from('RIFF-recording-bytes'), t(2, 14, 5));
  const party = (p: Document, number: string): Document => ({ kind: p.kind as string, id: p.id as string, number });
  await col('calls').insertMany([
    { _id: new ObjectId(), callId: vmCallId, kind: 'direct', roomId, from: party(ben, '+85291230000'), to: party(alice, '1001'), direction: 'inbound', startedAt: t(2, 13), endedAt: t(2, 13, 2), durationSec: 0, result: 'voicemail', voicemailFileId: voicemail, _retention: stamp(3, 'history/calls.json') },
    { _id: new ObjectId(), callId, kind: 'direct', roomId, from: party(alice, '1001'), to: party(ben, '+85291230000'), direction: 'outbound', startedAt: t(2, 14), answeredAt: t(2, 14), endedAt: t(2, 14, 5), durationSec: 300, result: 'answered', recordingFileId: recording, _retention: stamp(3, 'history/calls.json') },
    { _id: new ObjectId(), callId: randomUUID(), kind: 'direct', roomId: otherRoom, from: party({ kind: 'contact', id: otherId }, '+8520'), to: party(alice, '1001'), direction: 'inbound', startedAt: t(2, 14), endedAt: t(2, 14, 1), durationSec: 60, result: 'answered', _retention: stamp(3, 'history/calls.json') },
  ]);
  const conferenceId = randomUUID();
  const confRec = await file('conference-recording', 'conference.wav', 'audio/wav', { roomId, conferenceId }, Buffer.from('RIFF-conference-bytes'), t(2, 16));
  await col('conferences').insertOne({
    _id: new ObjectId(), conferenceId, roomId, title: 'Review', host: staffId, startedAt: t(2, 15), endedAt: t(2, 15, 30), durationSec: 1800,
    participants: [{ kind: 'staff', id: staffId, name: 'Alice Chan', joinedAt: t(2, 15), leftAt: t(2, 15, 30), durationSec: 1800 }, { kind: 'contact', id: contactId, name: contactName, number: '+85291230000', joinedAt: t(2, 15), leftAt: t(2, 15, 30), durationSec: 1800 }],
    recordingFileId: confRec, _retention: stamp(3, 'history/conference-calls.json'),
  });

  const expected: [string, string][] = [
    ['message', m1.messageId as string], ['message', m2.messageId as string], ['file', attachment], ['message', m3.messageId as string],
    ['enquiry', enquiryId], ['call', vmCallId], ['voicemail', voicemail], ['call', callId], ['call-recording', recording],
    ['conference', conferenceId], ['conference-recording', confRec],
  ];
  return {
    contactId, staffId, contactName, from: t(2, 0), to: t(2, 23, 59), expected, media,
    absent: [mArchived.messageId as string, mOther.messageId as string, mEarly.messageId as string],
    archives: [archiveName(2), archiveName(3)],
  };
}
