import type { IndexSpec } from '../db/ensure-indexes.js';
import { RECORD_COLLECTIONS } from './queries/types.js';

const ix = (name: string, key: Record<string, 1 | -1>): IndexSpec => ({ name: `portal_${name}`, key });

/**
 * One index per filter and sort the portal offers (list pages sort on (field, _id); filters combine with the main
 * date). Built in the background after start when missing, one at a time (IndexBuild; FerretDB's limits: ensureIndexes).
 */
export const RECORD_INDEXES: Readonly<Record<string, readonly IndexSpec[]>> = {
  [RECORD_COLLECTIONS.enquiries]: [
    ix('enquiryId', { enquiryId: 1 }), ix('closedAt', { closedAt: -1, _id: -1 }), ix('openedAt', { openedAt: -1, _id: -1 }),
    ix('assignee_closedAt', { assignee: 1, closedAt: -1 }), ix('contact_closedAt', { 'customer.contactId': 1, closedAt: -1 }),
    ix('roomId', { roomId: 1 }), ix('channel_closedAt', { channel: 1, closedAt: -1 }), ix('resolution_closedAt', { resolution: 1, closedAt: -1 }),
    ix('tags', { tags: 1 }), ix('subject', { subject: 1, _id: 1 }),
  ],
  [RECORD_COLLECTIONS.rooms]: [
    ix('roomId', { roomId: 1 }), ix('createdAt', { createdAt: -1, _id: -1 }), ix('participants', { 'participants.id': 1 }),
    ix('enquiryId', { enquiryId: 1 }), ix('type_createdAt', { type: 1, createdAt: -1 }), ix('name', { name: 1, _id: 1 }),
    // The importer reads an archive's staff, contacts, rooms and files back by its name (identity.ts, call-times.ts).
    ix('archive', { '_retention.archive': 1 }),
  ],
  [RECORD_COLLECTIONS.messages]: [
    ix('messageId', { messageId: 1 }), ix('sentAt', { sentAt: -1, _id: -1 }), ix('roomId_sentAt', { roomId: 1, sentAt: -1 }),
    ix('enquiryId_sentAt', { enquiryId: 1, sentAt: -1 }), ix('sender_sentAt', { 'sender.id': 1, sentAt: -1 }), ix('type_sentAt', { type: 1, sentAt: -1 }),
  ],
  [RECORD_COLLECTIONS.calls]: [
    ix('callId', { callId: 1 }), ix('startedAt', { startedAt: -1, _id: -1 }), ix('roomId_startedAt', { roomId: 1, startedAt: -1 }),
    ix('enquiryId', { enquiryId: 1 }), ix('from_id', { 'from.id': 1, startedAt: -1 }), ix('to_id', { 'to.id': 1, startedAt: -1 }),
    ix('from_number', { 'from.number': 1 }), ix('to_number', { 'to.number': 1 }),
    ix('direction_startedAt', { direction: 1, startedAt: -1 }), ix('result_startedAt', { result: 1, startedAt: -1 }), ix('durationSec', { durationSec: -1, _id: -1 }),
  ],
  [RECORD_COLLECTIONS.conferences]: [
    ix('conferenceId', { conferenceId: 1 }), ix('startedAt', { startedAt: -1, _id: -1 }), ix('roomId_startedAt', { roomId: 1, startedAt: -1 }),
    ix('participants', { 'participants.id': 1 }),
    // the person timeline: a participant's conferences in time order
    ix('participants_startedAt', { 'participants.id': 1, startedAt: 1 }),
  ],
  [RECORD_COLLECTIONS.files]: [
    ix('fileId', { fileId: 1 }), ix('uploadedAt', { uploadedAt: -1, _id: -1 }), ix('category_uploadedAt', { category: 1, uploadedAt: -1 }),
    ix('callAt', { '_retention.callAt': -1, _id: -1 }), ix('archive', { '_retention.archive': 1 }),
    ix('roomId', { roomId: 1 }), ix('ownerId', { ownerId: 1 }), ix('callId', { callId: 1 }), ix('conferenceId', { conferenceId: 1 }), ix('messageId', { messageId: 1 }),
    // the person timeline: an uploader's files and a room's files in time order
    ix('ownerId_uploadedAt', { ownerId: 1, uploadedAt: 1 }), ix('roomId_uploadedAt', { roomId: 1, uploadedAt: 1 }),
  ],
  [RECORD_COLLECTIONS.staff]: [ix('staffId', { staffId: 1 }), ix('displayName', { displayName: 1, _id: 1 }), ix('status', { status: 1 }), ix('archive', { '_retention.archive': 1 })],
  [RECORD_COLLECTIONS.contacts]: [
    ix('contactId', { contactId: 1 }), ix('name', { name: 1, _id: 1 }), ix('tags', { tags: 1 }), ix('phones', { 'phones.number': 1 }), ix('archive', { '_retention.archive': 1 }),
  ],
};
