import type { RecordType } from '../api/types';
import { party } from '../format';
import type { ListDef } from './types';

/** What each record list shows and lets the auditor filter by (the API accepts the same names). */

export const CHANNELS = ['webchat', 'whatsapp', 'facebook', 'line', 'wechat', 'email', 'sms', 'phone'] as const;
export const DIRECTIONS = ['inbound', 'outbound', 'internal'] as const;
export const CALL_RESULTS = ['answered', 'missed', 'rejected', 'voicemail', 'failed', 'busy'] as const;
export const RESOLUTIONS = ['resolved', 'unresolved', 'transferred', 'no-response', 'spam'] as const;
export const FILE_CATEGORIES = ['room-file', 'voicemail', 'call-recording', 'conference-recording', 'avatar', 'tag-icon'] as const;

const staffFilter = { key: 'staff', label: 'Staff', placeholder: 'name or staffId' } as const;
const contactFilter = { key: 'contact', label: 'Contact', placeholder: 'name or contactId' } as const;
const roomFilter = { key: 'room', label: 'Room ID', placeholder: 'roomId' } as const;
const enquiryFilter = { key: 'enquiry', label: 'Enquiry ID', placeholder: 'enquiryId' } as const;

export const enquiriesList: ListDef<'enquiries'> = {
  type: 'enquiries', title: 'Enquiry History', detailRoute: 'enquiry',
  search: 'Subject, customer name, phone or e-mail', dateRange: 'Closed',
  defaultSort: { key: 'closedAt', order: 'desc' },
  filters: [
    { key: 'channel', label: 'Channel', options: CHANNELS },
    { key: 'result', label: 'Resolution', options: RESOLUTIONS },
    { key: 'tag', label: 'Tag', placeholder: 'e.g. vip' },
    staffFilter, contactFilter,
  ],
  columns: [
    { key: 'closedAt', label: 'Closed', kind: 'date', sortable: true, value: (r) => r.closedAt, width: '12rem' },
    { key: 'channel', label: 'Channel', kind: 'badge', sortable: true, value: (r) => r.channel, width: '6rem' },
    { key: 'subject', label: 'Subject', sortable: true, value: (r) => r.subject },
    { key: 'customer', label: 'Customer', value: (r) => party({ name: r.customer.name, number: r.customer.phone }) },
    { key: 'assignee', label: 'Assignee', value: (r) => r.assigneeName ?? r.assignee },
    { key: 'resolution', label: 'Resolution', sortable: true, value: (r) => r.resolution, width: '7rem' },
    { key: 'rating', label: 'Rating', value: (r) => r.rating ?? '–', align: 'right', width: '4.5rem' },
    { key: 'tags', label: 'Tags', kind: 'tags', value: (r) => r.tags },
  ],
};

export const roomsList: ListDef<'rooms'> = {
  type: 'rooms', title: 'Room / Space Report', detailRoute: 'room',
  search: 'Room name', dateRange: 'Created',
  defaultSort: { key: 'createdAt', order: 'desc' },
  filters: [{ key: 'type', label: 'Type', options: ['enquiry', 'direct', 'group', 'space'] }, staffFilter, contactFilter, enquiryFilter],
  columns: [
    { key: 'createdAt', label: 'Created', kind: 'date', sortable: true, value: (r) => r.createdAt, width: '12rem' },
    { key: 'name', label: 'Name', sortable: true, value: (r) => r.name },
    { key: 'type', label: 'Type', kind: 'badge', sortable: true, value: (r) => r.type, width: '6rem' },
    { key: 'participants', label: 'Participants', value: (r) => r.participants.map((p) => p.name ?? p.id).join(', ') },
    { key: 'messageCount', label: 'Messages', value: (r) => r.messageCount, align: 'right', width: '6rem' },
    { key: 'callCount', label: 'Calls', value: (r) => r.callCount, align: 'right', width: '4rem' },
    { key: 'firstActivityAt', label: 'First activity', kind: 'date', value: (r) => r.firstActivityAt, width: '12rem' },
    { key: 'lastActivityAt', label: 'Last activity', kind: 'date', value: (r) => r.lastActivityAt, width: '12rem' },
  ],
};

export const callsList: ListDef<'calls'> = {
  type: 'calls', title: 'Call History', detailRoute: 'call',
  search: 'Number or name', dateRange: 'Started',
  defaultSort: { key: 'startedAt', order: 'desc' },
  filters: [
    { key: 'number', label: 'Number', placeholder: '+852… or extension' },
    { key: 'direction', label: 'Direction', options: DIRECTIONS },
    { key: 'result', label: 'Result', options: CALL_RESULTS },
    { key: 'kind', label: 'Kind', options: ['direct', 'enquiry'] },
    staffFilter, contactFilter, enquiryFilter, roomFilter,
  ],
  columns: [
    { key: 'startedAt', label: 'Started', kind: 'date', sortable: true, value: (r) => r.startedAt, width: '12rem' },
    { key: 'direction', label: 'Direction', sortable: true, value: (r) => r.direction, width: '7rem' },
    { key: 'from', label: 'From', link: true, value: (r) => party(r.from) },
    { key: 'to', label: 'To', value: (r) => party(r.to) },
    { key: 'durationSec', label: 'Duration', kind: 'duration', sortable: true, value: (r) => r.durationSec, align: 'right', width: '6rem' },
    { key: 'result', label: 'Result', kind: 'badge', sortable: true, value: (r) => r.result, width: '6rem' },
    { key: 'kind', label: 'Kind', value: (r) => r.kind, width: '5rem' },
    { key: 'media', label: 'Media', value: (r) => (r.recordingFileId ? 'recording' : r.voicemailFileId ? 'voicemail' : ''), width: '6rem' },
  ],
};

export const conferencesList: ListDef<'conferences'> = {
  type: 'conferences', title: 'Conference Call History', detailRoute: 'conference',
  search: 'Title or participant', dateRange: 'Started',
  defaultSort: { key: 'startedAt', order: 'desc' },
  filters: [staffFilter, contactFilter, roomFilter],
  columns: [
    { key: 'startedAt', label: 'Started', kind: 'date', sortable: true, value: (r) => r.startedAt, width: '12rem' },
    { key: 'title', label: 'Title', sortable: true, value: (r) => r.title },
    { key: 'host', label: 'Host', value: (r) => r.hostName ?? r.host },
    { key: 'participants', label: 'Participants', value: (r) => r.participants.length, align: 'right', width: '6rem' },
    { key: 'durationSec', label: 'Duration', kind: 'duration', sortable: true, value: (r) => r.durationSec, align: 'right', width: '6rem' },
    { key: 'recording', label: 'Recording', value: (r) => (r.recordingFileId ? 'yes' : ''), width: '5rem' },
  ],
};

const fileColumns: ListDef<'files'>['columns'] = [
  { key: 'uploadedAt', label: 'Uploaded', kind: 'date', sortable: true, value: (r) => r.uploadedAt, width: '12rem' },
  { key: 'name', label: 'Name', sortable: true, value: (r) => r.name },
  { key: 'category', label: 'Category', kind: 'badge', sortable: true, value: (r) => r.category, width: '9rem' },
  { key: 'mimeType', label: 'Type', value: (r) => r.mimeType, width: '9rem' },
  { key: 'size', label: 'Size', kind: 'bytes', sortable: true, value: (r) => r.size, align: 'right', width: '6rem' },
  { key: 'sha256', label: 'SHA-256', kind: 'mono', value: (r) => r.sha256.slice(0, 16) + '…', width: '12rem' },
];

export const filesList: ListDef<'files'> = {
  type: 'files', title: 'Files', detailRoute: 'file',
  search: 'File name', dateRange: 'Uploaded',
  defaultSort: { key: 'uploadedAt', order: 'desc' },
  filters: [{ key: 'category', label: 'Category', options: FILE_CATEGORIES }, roomFilter, staffFilter, contactFilter],
  columns: fileColumns,
};

export const voicemailsList: ListDef<'voicemails'> = {
  type: 'voicemails', title: 'Voicemail', detailRoute: 'voicemail',
  search: 'Number or name', dateRange: 'Received',
  defaultSort: { key: 'callStartedAt', order: 'desc' },
  filters: [staffFilter, contactFilter, roomFilter],
  columns: [
    { key: 'callStartedAt', label: 'Received', kind: 'date', sortable: true, value: (r) => r.call?.startedAt ?? r.uploadedAt, width: '12rem' },
    { key: 'from', label: 'From', value: (r) => party(r.call?.from) },
    { key: 'to', label: 'To', value: (r) => party(r.call?.to) },
    { key: 'duration', label: 'Length', kind: 'duration', value: (r) => r.call?.durationSec, align: 'right', width: '6rem' },
    { key: 'name', label: 'File', value: (r) => r.name },
    { key: 'size', label: 'Size', kind: 'bytes', sortable: true, value: (r) => r.size, align: 'right', width: '6rem' },
  ],
};

export const recordingsList: ListDef<'recordings'> = {
  type: 'recordings', title: 'Call Recordings', detailRoute: 'recording',
  search: 'Number, name or title', dateRange: 'Recorded',
  defaultSort: { key: 'callStartedAt', order: 'desc' },
  filters: [{ key: 'category', label: 'Kind', options: ['call-recording', 'conference-recording'] }, staffFilter, contactFilter, roomFilter],
  columns: [
    { key: 'callStartedAt', label: 'Recorded', kind: 'date', sortable: true, value: (r) => r.call?.startedAt ?? r.conference?.startedAt ?? r.uploadedAt, width: '12rem' },
    { key: 'category', label: 'Kind', kind: 'badge', value: (r) => r.category, width: '12rem' },
    { key: 'subject', label: 'Call / conference', value: (r) => (r.call ? `${party(r.call.from)} → ${party(r.call.to)}` : (r.conference?.title ?? '')) },
    { key: 'duration', label: 'Length', kind: 'duration', value: (r) => r.call?.durationSec ?? r.conference?.durationSec, align: 'right', width: '6rem' },
    { key: 'size', label: 'Size', kind: 'bytes', sortable: true, value: (r) => r.size, align: 'right', width: '6rem' },
  ],
};

export const messagesList: ListDef<'messages'> = {
  type: 'messages', title: 'Text Messages', detailRoute: 'message',
  search: 'Full-text search of message text', dateRange: 'Sent',
  defaultSort: { key: 'sentAt', order: 'desc' },
  filters: [
    { key: 'type', label: 'Type', options: ['text', 'image', 'file', 'audio', 'video', 'sticker', 'system'] },
    staffFilter, contactFilter, roomFilter, enquiryFilter,
  ],
  columns: [
    { key: 'sentAt', label: 'Sent', kind: 'date', sortable: true, value: (r) => r.sentAt, width: '12rem' },
    { key: 'sender', label: 'Sender', value: (r) => r.sender.name, width: '12rem' },
    { key: 'type', label: 'Type', kind: 'badge', value: (r) => r.type, width: '5rem' },
    { key: 'text', label: 'Text', value: (r) => (r.deleted ? '(deleted)' : r.text || r.attachments.map((a) => a.name).join(', ')) },
    { key: 'edited', label: 'Edited', value: (r) => (r.editedAt ? 'edited' : ''), width: '5rem' },
  ],
};

export const staffList: ListDef<'staff'> = {
  type: 'staff', title: 'Staff', detailRoute: 'staff-member',
  search: 'Name, e-mail or extension', dateRange: null,
  defaultSort: { key: 'displayName', order: 'asc' },
  filters: [
    { key: 'status', label: 'Status', options: ['active', 'inactive', 'suspended'] },
    { key: 'role', label: 'Role', options: ['admin', 'supervisor', 'agent'] },
    { key: 'department', label: 'Department' },
  ],
  columns: [
    { key: 'displayName', label: 'Name', sortable: true, value: (r) => r.displayName },
    { key: 'email', label: 'E-mail', sortable: true, value: (r) => r.email },
    { key: 'extension', label: 'Extension', sortable: true, value: (r) => r.extension, width: '6rem' },
    { key: 'department', label: 'Department', sortable: true, value: (r) => r.department },
    { key: 'role', label: 'Role', sortable: true, value: (r) => r.role, width: '7rem' },
    { key: 'status', label: 'Status', kind: 'badge', sortable: true, value: (r) => r.status, width: '6rem' },
  ],
};

export const contactsList: ListDef<'contacts'> = {
  type: 'contacts', title: 'External Contacts', detailRoute: 'contact',
  search: 'Name, company, phone or e-mail', dateRange: null,
  defaultSort: { key: 'name', order: 'asc' },
  filters: [{ key: 'number', label: 'Number' }, { key: 'tag', label: 'Tag' }],
  columns: [
    { key: 'name', label: 'Name', sortable: true, value: (r) => r.name },
    { key: 'company', label: 'Company', sortable: true, value: (r) => r.company },
    { key: 'phones', label: 'Phones', value: (r) => r.phones.map((p) => p.number).join(', ') },
    { key: 'emails', label: 'E-mails', value: (r) => r.emails.join(', ') },
    { key: 'tags', label: 'Tags', kind: 'tags', value: (r) => r.tags },
  ],
};

export const LISTS: { [K in RecordType]: ListDef<K> } = {
  enquiries: enquiriesList, rooms: roomsList, calls: callsList, conferences: conferencesList, files: filesList,
  voicemails: voicemailsList, recordings: recordingsList, messages: messagesList, staff: staffList, contacts: contactsList,
};
