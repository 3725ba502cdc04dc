import type { Document } from 'mongodb';
import { LIST_DEFS, RECORD_COLLECTIONS, type ListTypeDef } from '../queries/types.js';

/** Who a timeline or case export is about: a contact or a staff member by business id, and the rooms they are in. */
export interface PersonScope {
  kind: 'contact' | 'staff';
  /** contactId / staffId: every stored version of the person carries it, so links to any version match. */
  id: string;
  /** Rooms the person is a participant of or whose enquiry is theirs (messages: everyone's lines in them). */
  roomIds: readonly string[];
}

export const TIMELINE_TYPES = ['enquiry', 'message', 'call', 'conference', 'voicemail', 'call-recording', 'conference-recording', 'file'] as const;
export type TimelineType = (typeof TIMELINE_TYPES)[number];

/** One kind of timeline row: a bounded, indexed query on one collection, sorted by (timeField, _id). */
export interface TimelineSource {
  type: TimelineType;
  /** Shown in the portal and the transcript. */
  label: string;
  collection: string;
  /** The list type of the queried documents (row conversion, name enrichment). */
  def: ListTypeDef;
  timeField: string;
  /** The list whose detail page a row links to; for file-backed rows the file, not the call. */
  linkList: 'enquiries' | 'messages' | 'calls' | 'conferences' | 'voicemails' | 'recordings' | 'files';
  /** For voicemails and recordings (rows of calls/conferences): the field holding the file's id. */
  fileField?: 'voicemailFileId' | 'recordingFileId';
  filter(p: PersonScope): Document;
}

const callParties = (p: PersonScope): Document => ({ $or: [{ 'from.id': p.id }, { 'to.id': p.id }] });
const confParties = (p: PersonScope): Document => (p.kind === 'staff' ? { $or: [{ 'participants.id': p.id }, { host: p.id }] } : { 'participants.id': p.id });
const inRooms = (p: PersonScope): Document[] => (p.roomIds.length > 0 ? [{ roomId: { $in: [...p.roomIds] } }] : []);

/**
 * The timeline's sources in their tie-break order (same time: this order). Voicemails and recordings are found
 * through the calls and conferences the person took part in, and placed at the call's time.
 */
export const TIMELINE_SOURCES: readonly TimelineSource[] = [
  {
    type: 'enquiry', label: 'Enquiry', collection: RECORD_COLLECTIONS.enquiries, def: LIST_DEFS.enquiries, timeField: 'closedAt', linkList: 'enquiries',
    filter: (p) => (p.kind === 'contact' ? { 'customer.contactId': p.id } : { assignee: p.id }),
  },
  {
    type: 'message', label: 'Message', collection: RECORD_COLLECTIONS.messages, def: LIST_DEFS.messages, timeField: 'sentAt', linkList: 'messages',
    filter: (p) => ({ $or: [{ 'sender.id': p.id }, ...inRooms(p)] }),
  },
  { type: 'call', label: 'Call', collection: RECORD_COLLECTIONS.calls, def: LIST_DEFS.calls, timeField: 'startedAt', linkList: 'calls', filter: callParties },
  { type: 'conference', label: 'Conference', collection: RECORD_COLLECTIONS.conferences, def: LIST_DEFS.conferences, timeField: 'startedAt', linkList: 'conferences', filter: confParties },
  {
    type: 'voicemail', label: 'Voicemail', collection: RECORD_COLLECTIONS.calls, def: LIST_DEFS.calls, timeField: 'startedAt', linkList: 'voicemails', fileField: 'voicemailFileId',
    filter: (p) => ({ $and: [callParties(p), { voicemailFileId: { $exists: true } }] }),
  },
  {
    type: 'call-recording', label: 'Call recording', collection: RECORD_COLLECTIONS.calls, def: LIST_DEFS.calls, timeField: 'startedAt', linkList: 'recordings', fileField: 'recordingFileId',
    filter: (p) => ({ $and: [callParties(p), { recordingFileId: { $exists: true } }] }),
  },
  {
    type: 'conference-recording', label: 'Conference recording', collection: RECORD_COLLECTIONS.conferences, def: LIST_DEFS.conferences, timeField: 'startedAt', linkList: 'recordings', fileField: 'recordingFileId',
    filter: (p) => ({ $and: [confParties(p), { recordingFileId: { $exists: true } }] }),
  },
  {
    type: 'file', label: 'File', collection: RECORD_COLLECTIONS.files, def: LIST_DEFS.files, timeField: 'uploadedAt', linkList: 'files',
    filter: (p) => ({ $and: [{ category: 'room-file' }, { $or: [{ ownerId: p.id }, ...inRooms(p)] }] }),
  },
];

export const SOURCE_RANK: ReadonlyMap<TimelineType, number> = new Map(TIMELINE_SOURCES.map((s, i) => [s.type, i]));
