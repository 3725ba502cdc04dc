import { Long, type ObjectId } from 'mongodb';
import { makeFileSpec, type FileSpec, type FormatName } from './file-spec.js';
import { contactAt, contactRef, objectIdAt, staffRef, TAG_NAMES, type PersonRef } from './people.js';
import type { DayPlan } from './plan.js';
import { Rng } from './rng.js';

export type RoomType = 'enquiry' | 'direct' | 'group' | 'space';
export type Channel = 'webchat' | 'whatsapp' | 'facebook' | 'line' | 'wechat' | 'email' | 'sms' | 'phone';
export type MessageType = 'text' | 'image' | 'file' | 'audio' | 'video' | 'sticker' | 'system';
export type CallResult = 'answered' | 'missed' | 'rejected' | 'voicemail' | 'failed' | 'busy';
type Member = { readonly kind: 'staff' | 'contact'; readonly index: number };

export interface RoomDoc {
  _id: ObjectId; roomId: string; type: RoomType; name: string;
  participants: { kind: 'staff' | 'contact'; id: string }[]; createdAt: Date; enquiryId?: string;
}
export interface EnquiryDoc {
  _id: ObjectId; enquiryId: string; roomId: string; channel: Channel;
  customer: { contactId: string; name: string; phone: string; email: string };
  assignee: string; tags: string[]; subject: string; openedAt: Date; closedAt: Date; closedBy: string;
  resolution: 'resolved' | 'unresolved' | 'transferred' | 'no-response' | 'spam'; rating: number | null;
}
export interface MessageDoc {
  _id: ObjectId; messageId: string; roomId: string; enquiryId?: string;
  sender: { kind: 'staff' | 'contact' | 'system'; id: string; name: string }; type: MessageType; text: string;
  attachments: { fileId: string; name: string; mimeType: string; size: Long }[]; sentAt: Date; editedAt?: Date; deleted: boolean;
}
export interface CallParty { kind: 'staff' | 'contact'; id: string; number: string }
export interface CallDoc {
  _id: ObjectId; callId: string; kind: 'direct' | 'enquiry'; roomId: string; enquiryId?: string; from: CallParty; to: CallParty;
  direction: 'inbound' | 'outbound' | 'internal'; startedAt: Date; answeredAt?: Date; endedAt: Date; durationSec: number;
  result: CallResult; recordingFileId?: string; voicemailFileId?: string;
}
export interface ConferenceDoc {
  _id: ObjectId; conferenceId: string; roomId: string; title: string; host: string; startedAt: Date; endedAt: Date;
  durationSec: number;
  participants: { kind: 'staff' | 'contact'; id: string; name: string; number?: string; joinedAt: Date; leftAt: Date; durationSec: number }[];
  recordingFileId?: string;
}

const CHANNELS = [['webchat', 30], ['whatsapp', 25], ['facebook', 8], ['line', 6], ['wechat', 6], ['email', 10], ['sms', 5], ['phone', 10]] as const;
const SUBJECTS = ['Order status', 'Refund request', 'Cannot log in', 'Billing question', 'Change of address', 'Product enquiry', 'Delivery delayed', 'Cancel subscription'] as const;
const TEXTS = ['Hello, how can I help you?', 'Thanks for waiting.', 'Could you share your order number?', 'I have checked with the team.', 'Please see the attached file.', 'Is there anything else?', 'Thank you, bye!', '好的，明白了。', 'ありがとうございます', 'OK 👍'] as const;
const MESSAGE_TYPES = [['text', 75], ['image', 8], ['file', 5], ['audio', 3], ['video', 2], ['sticker', 4], ['system', 3]] as const;
const CALL_RESULTS = [['answered', 65], ['missed', 12], ['rejected', 5], ['voicemail', 8], ['failed', 5], ['busy', 5]] as const;

const between = (rng: Rng, from: number, to: number): number => from + Math.floor(rng.next() * Math.max(1, to - from));
const refOf = (plan: DayPlan, m: Member): PersonRef => (m.kind === 'staff' ? staffRef(plan, m.index) : contactRef(plan, m.index));

interface RoomCore {
  readonly index: number; readonly roomId: string; readonly type: RoomType; readonly name: string; readonly createdAt: number;
  readonly members: readonly Member[]; readonly enquiry?: EnquiryCore; readonly rng: Rng;
}
interface EnquiryCore {
  readonly index: number; readonly enquiryId: string; readonly roomId: string; readonly customer: number; readonly assignee: number;
  readonly openedAt: number; readonly closedAt: number; readonly rng: Rng;
}

function enquiryCore(plan: DayPlan, j: number): EnquiryCore {
  const rng = Rng.of(plan.daySeed, 'enquiry', j);
  const enquiryId = rng.uuid();
  const roomId = rng.uuid();
  const closedAt = between(rng, plan.periodStart, plan.periodEnd);
  const openedAt = closedAt - rng.int(300, 3 * 86_400) * 1000;
  return { index: j, enquiryId, roomId, customer: rng.int(0, plan.contacts - 1), assignee: rng.int(0, plan.staff - 1), openedAt, closedAt, rng };
}

/** Room `r`: indexes below `plan.sharedRooms` are the service's standing rooms, the rest one room per enquiry. */
function roomCore(plan: DayPlan, r: number): RoomCore {
  if (r >= plan.sharedRooms) {
    const e = enquiryCore(plan, r - plan.sharedRooms);
    return {
      index: r, roomId: e.roomId, type: 'enquiry', name: `Enquiry ${e.enquiryId.slice(0, 8)}`, createdAt: e.openedAt,
      members: [{ kind: 'staff', index: e.assignee }, { kind: 'contact', index: e.customer }], enquiry: e, rng: e.rng,
    };
  }
  const rng = Rng.of(plan.serviceSeed, 'room', r);
  const roomId = rng.uuid();
  const type = rng.weighted([['direct', 50], ['group', 30], ['space', 20]] as const);
  const createdAt = plan.serviceEpoch - rng.int(1, 300) * 86_400_000;
  const staff = (): Member => ({ kind: 'staff', index: rng.int(0, plan.staff - 1) });
  const contact = (): Member => ({ kind: 'contact', index: rng.int(0, plan.contacts - 1) });
  let members: Member[];
  switch (type) {
    case 'direct': members = [staff(), rng.bool(0.5) ? staff() : contact()]; break;
    case 'group': members = Array.from({ length: rng.int(3, 6) }, staff); break;
    case 'space': members = [...Array.from({ length: rng.int(2, 5) }, staff), ...Array.from({ length: rng.int(1, 3) }, contact)]; break;
  }
  const unique = members.filter((m, i) => members.findIndex((o) => o.kind === m.kind && o.index === m.index) === i);
  const name = type === 'direct' ? 'Direct chat' : `${type === 'group' ? 'Team' : 'Project'} ${rng.pick(SUBJECTS)} #${r}`;
  return { index: r, roomId, type, name, createdAt, members: unique, rng };
}

export function roomCount(plan: DayPlan): number {
  return plan.sharedRooms + plan.enquiries;
}

export function roomAt(plan: DayPlan, r: number): RoomDoc {
  const room = roomCore(plan, r);
  const id = objectIdAt(Rng.of(room.enquiry ? plan.daySeed : plan.serviceSeed, 'room-oid', r), room.createdAt);
  return {
    _id: id, roomId: room.roomId, type: room.type, name: room.name,
    participants: room.members.map((m) => ({ kind: m.kind, id: refOf(plan, m).id })),
    createdAt: new Date(room.createdAt),
    ...(room.enquiry && { enquiryId: room.enquiry.enquiryId }),
  };
}

export function enquiryAt(plan: DayPlan, j: number): EnquiryDoc {
  const e = enquiryCore(plan, j);
  const rng = Rng.of(plan.daySeed, 'enquiry-detail', j);
  const customer = contactAt(plan, e.customer);
  const assignee = staffRef(plan, e.assignee);
  const resolution = rng.weighted([['resolved', 70], ['unresolved', 8], ['transferred', 7], ['no-response', 12], ['spam', 3]] as const);
  return {
    _id: objectIdAt(rng, e.openedAt), enquiryId: e.enquiryId, roomId: e.roomId, channel: rng.weighted(CHANNELS),
    customer: { contactId: customer.contactId, name: customer.name, phone: customer.phones[0]?.number ?? '', email: customer.emails[0] ?? '' },
    assignee: assignee.id, tags: TAG_NAMES.filter(() => rng.bool(0.15)), subject: rng.pick(SUBJECTS),
    openedAt: new Date(e.openedAt), closedAt: new Date(e.closedAt),
    closedBy: resolution === 'no-response' ? 'system' : assignee.id, resolution,
    rating: resolution === 'resolved' && rng.bool(0.6) ? rng.int(1, 5) : null,
  };
}

const ATTACHMENT_FORMATS: Record<'image' | 'file' | 'audio' | 'video', readonly FormatName[]> = {
  image: ['png', 'jpeg'], file: ['pdf', 'docx'], audio: ['wav'], video: ['mp4'],
};

/** Message `m` and the file its attachment points to (image/file/audio/video messages carry exactly one). */
export function messageWithFile(plan: DayPlan, m: number): { doc: MessageDoc; file?: FileSpec } {
  const rng = Rng.of(plan.daySeed, 'message', m);
  const useEnquiry = plan.enquiries > 0 && rng.bool(0.6);
  const room = roomCore(plan, useEnquiry ? plan.sharedRooms + rng.int(0, plan.enquiries - 1) : rng.int(0, plan.sharedRooms - 1));
  const from = room.enquiry ? room.enquiry.openedAt : plan.periodStart;
  const to = room.enquiry ? room.enquiry.closedAt : plan.periodEnd;
  const sentAt = between(rng, from, to);
  const messageId = rng.uuid();
  const type = rng.weighted(MESSAGE_TYPES);
  const who = refOf(plan, rng.pick(room.members));
  const sender = type === 'system' ? { kind: 'system' as const, id: 'system', name: 'System' } : { kind: who.kind, id: who.id, name: who.name };
  let file: FileSpec | undefined;
  let text: string;
  switch (type) {
    case 'image': case 'file': case 'audio': case 'video': {
      const format = rng.pick(ATTACHMENT_FORMATS[type]);
      file = makeFileSpec(plan, rng, {
        category: 'room-file', format, baseName: `${type}-${messageId.slice(0, 8)}`, uploadedAt: sentAt,
        roomId: room.roomId, messageId, ownerId: who.id,
      });
      text = rng.bool(0.3) ? rng.pick(TEXTS) : '';
      break;
    }
    case 'sticker': text = `sticker:${rng.pick(['smile', 'thumbs-up', 'heart', 'thanks'])}-0${rng.int(1, 9)}`; break;
    case 'system': text = room.enquiry ? `Enquiry assigned to ${who.name}` : `${who.name} joined the room`; break;
    case 'text': text = rng.pick(TEXTS); break;
  }
  const deleted = rng.bool(0.02);
  const edited = !deleted && type === 'text' && rng.bool(0.05);
  const doc: MessageDoc = {
    _id: objectIdAt(rng, sentAt), messageId, roomId: room.roomId,
    ...(room.enquiry && { enquiryId: room.enquiry.enquiryId }),
    sender, type, text: deleted ? '' : text,
    attachments: file ? [{ fileId: file.fileId, name: file.name, mimeType: file.mimeType, size: Long.fromNumber(file.size) }] : [],
    sentAt: new Date(sentAt),
    ...(edited && { editedAt: new Date(sentAt + rng.int(10, 600) * 1000) }),
    deleted,
  };
  return file ? { doc, file } : { doc };
}

/** Call `k` and its recording / voicemail files. */
export function callWithFiles(plan: DayPlan, k: number): { doc: CallDoc; files: FileSpec[] } {
  const rng = Rng.of(plan.daySeed, 'call', k);
  const isEnquiry = plan.enquiries > 0 && rng.bool(0.45);
  const room = roomCore(plan, isEnquiry ? plan.sharedRooms + rng.int(0, plan.enquiries - 1) : rng.int(0, plan.sharedRooms - 1));
  const callId = rng.uuid();
  const staffMember = room.members.find((m) => m.kind === 'staff') ?? { kind: 'staff' as const, index: 0 };
  const other = room.members.find((m) => m !== staffMember) ?? { kind: 'contact' as const, index: rng.int(0, plan.contacts - 1) };
  let a = refOf(plan, staffMember);
  let b = refOf(plan, other);
  let direction: CallDoc['direction'] = b.kind === 'staff' ? 'internal' : 'outbound';
  if (b.kind === 'contact' && rng.bool(isEnquiry ? 0.8 : 0.3)) {
    [a, b] = [b, a];
    direction = 'inbound';
  }
  const startedAt = room.enquiry ? between(rng, room.enquiry.openedAt, room.enquiry.closedAt) : between(rng, plan.periodStart, plan.periodEnd - 3_600_000);
  const result = rng.weighted(CALL_RESULTS);
  const ringMs = rng.int(2, 30) * 1000;
  const talkSec = result === 'answered' ? rng.int(10, 1800) : 0;
  const answeredAt = result === 'answered' ? startedAt + ringMs : undefined;
  const voicemailSec = result === 'voicemail' ? rng.int(5, 90) : 0;
  const endedAt = answeredAt !== undefined ? answeredAt + talkSec * 1000 : startedAt + ringMs + voicemailSec * 1000;
  const files: FileSpec[] = [];
  let recordingFileId: string | undefined;
  let voicemailFileId: string | undefined;
  if (result === 'answered' && rng.bool(0.5)) {
    const f = makeFileSpec(plan, rng, { category: 'call-recording', format: 'wav', baseName: `recording-${callId}`, uploadedAt: endedAt, roomId: room.roomId, callId });
    files.push(f);
    recordingFileId = f.fileId;
  }
  if (result === 'voicemail') {
    const f = makeFileSpec(plan, rng, { category: 'voicemail', format: 'wav', baseName: `voicemail-${callId}`, uploadedAt: endedAt, roomId: room.roomId, callId });
    files.push(f);
    voicemailFileId = f.fileId;
  }
  const doc: CallDoc = {
    _id: objectIdAt(rng, startedAt), callId, kind: isEnquiry ? 'enquiry' : 'direct', roomId: room.roomId,
    ...(room.enquiry && { enquiryId: room.enquiry.enquiryId }),
    from: { kind: a.kind, id: a.id, number: a.number }, to: { kind: b.kind, id: b.id, number: b.number }, direction,
    startedAt: new Date(startedAt), ...(answeredAt !== undefined && { answeredAt: new Date(answeredAt) }),
    endedAt: new Date(endedAt), durationSec: talkSec, result,
    ...(recordingFileId && { recordingFileId }), ...(voicemailFileId && { voicemailFileId }),
  };
  return { doc, files };
}

/** Conference call `c` (in one of the standing rooms) and its recording. */
export function conferenceWithFile(plan: DayPlan, c: number): { doc: ConferenceDoc; file?: FileSpec } {
  const rng = Rng.of(plan.daySeed, 'conference', c);
  const room = roomCore(plan, rng.int(0, plan.sharedRooms - 1));
  const conferenceId = rng.uuid();
  const hostMember = room.members.find((m) => m.kind === 'staff') ?? { kind: 'staff' as const, index: 0 };
  const host = refOf(plan, hostMember);
  const startedAt = between(rng, plan.periodStart, plan.periodEnd - 2 * 3_600_000);
  const durationSec = rng.int(5, 90) * 60;
  const endedAt = startedAt + durationSec * 1000;
  const participants = room.members.map((m) => {
    const ref = refOf(plan, m);
    const isHost = m === hostMember;
    const joinedAt = isHost ? startedAt : startedAt + rng.int(0, Math.floor(durationSec / 3)) * 1000;
    const leftAt = isHost ? endedAt : Math.min(endedAt, joinedAt + rng.int(60, durationSec) * 1000);
    return {
      kind: ref.kind, id: ref.id, name: ref.name, ...(ref.kind === 'contact' && { number: ref.number }),
      joinedAt: new Date(joinedAt), leftAt: new Date(leftAt), durationSec: Math.round((leftAt - joinedAt) / 1000),
    };
  });
  const file = rng.bool(0.5)
    ? makeFileSpec(plan, rng, { category: 'conference-recording', format: 'wav', baseName: `conference-${conferenceId}`, uploadedAt: endedAt, roomId: room.roomId, conferenceId })
    : undefined;
  const doc: ConferenceDoc = {
    _id: objectIdAt(rng, startedAt), conferenceId, roomId: room.roomId, title: `${rng.pick(SUBJECTS)} review`, host: host.id,
    startedAt: new Date(startedAt), endedAt: new Date(endedAt), durationSec, participants,
    ...(file && { recordingFileId: file.fileId }),
  };
  return file ? { doc, file } : { doc };
}
