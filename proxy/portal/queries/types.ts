import type { Document } from 'mongodb';
import type { SortOrder } from './cursor.js';

/** The vendor's record collections (docs/archive-format.md). */
export const RECORD_COLLECTIONS = {
  staff: 'lc-data-server.staff',
  enquiries: 'lc-data-server.enquiries',
  rooms: 'history.rooms',
  messages: 'history.messages',
  calls: 'history.calls',
  conferences: 'history.conference-calls',
  files: 'file-management.files',
  contacts: 'dynamic-phonebook.contacts',
} as const;

/**
 * How a query parameter filters: equality on one of the fields, or a literal case-insensitive substring; `party`: the
 * staff member or contact is a party of the call or conference the file belongs to (resolved by the list service).
 */
export interface ParamMatch { kind: 'eq' | 'substring' | 'party'; fields: readonly string[] }

export const LIST_TYPES = ['enquiries', 'rooms', 'calls', 'conferences', 'files', 'voicemails', 'recordings', 'messages', 'staff', 'contacts'] as const;
export type ListTypeName = (typeof LIST_TYPES)[number];

export interface ListTypeDef {
  readonly name: ListTypeName | 'audit';
  readonly collection: string;
  /** The business id: the row's `id` and the detail URL's `:id`. */
  readonly idField: string;
  /** Always part of the filter (voicemails and recordings are views of files). */
  readonly base?: Document;
  /** `from`/`to` apply to this field. */
  readonly dateField?: string;
  readonly sortable: readonly string[];
  /** A sortable name (or the date field) whose stored path differs from it; `from`/`to` and cursors use the path. */
  readonly paths?: Readonly<Record<string, string>>;
  readonly defaultSort: string;
  readonly defaultOrder: SortOrder;
  readonly params: Readonly<Record<string, ParamMatch>>;
  /** Fields `q` searches (literal, case-insensitive). */
  readonly text: readonly string[];
  /** CSV columns: header and dotted path in the row. */
  readonly columns: readonly string[];
}

const eq = (...fields: string[]): ParamMatch => ({ kind: 'eq', fields });
const sub = (...fields: string[]): ParamMatch => ({ kind: 'substring', fields });
const party: ParamMatch = { kind: 'party', fields: [] };

/** Voicemails and recordings sort and filter on the start of their call or conference (proxy/importer/call-times.ts). */
const CALL_TIME_PATHS = { callStartedAt: '_retention.callAt' } as const;
/** The stored path of a sort or date name of a list. */
export const pathOf = (def: Pick<ListTypeDef, 'paths'>, name: string): string => def.paths?.[name] ?? name;

const fileColumns = ['id', 'category', 'name', 'mimeType', 'size', 'sha256', 'roomId', 'messageId', 'callId', 'conferenceId', 'ownerId', 'uploadedAt'];
const fileParams = { room: eq('roomId'), staff: eq('ownerId'), contact: eq('ownerId'), call: eq('callId'), conference: eq('conferenceId') };
/** Voicemails and recordings are found by the parties of their call or conference, not by the file's owner. */
const mediaParams = { ...fileParams, staff: party, contact: party };

export const LIST_DEFS: Readonly<Record<ListTypeName, ListTypeDef>> = {
  enquiries: {
    name: 'enquiries', collection: RECORD_COLLECTIONS.enquiries, idField: 'enquiryId', dateField: 'closedAt',
    sortable: ['closedAt', 'openedAt', 'channel', 'resolution', 'subject'], defaultSort: 'closedAt', defaultOrder: 'desc',
    params: { staff: eq('assignee'), contact: eq('customer.contactId'), room: eq('roomId'), enquiry: eq('enquiryId'), channel: eq('channel'), result: eq('resolution'), tag: eq('tags') },
    text: ['subject', 'customer.name', 'customer.phone', 'customer.email'],
    columns: ['id', 'channel', 'subject', 'customer.name', 'customer.phone', 'customer.email', 'customer.contactId', 'assignee', 'assigneeName', 'tags', 'openedAt', 'closedAt', 'resolution', 'rating', 'roomId'],
  },
  rooms: {
    name: 'rooms', collection: RECORD_COLLECTIONS.rooms, idField: 'roomId', dateField: 'createdAt',
    sortable: ['createdAt', 'name', 'type'], defaultSort: 'createdAt', defaultOrder: 'desc',
    params: { staff: eq('participants.id'), contact: eq('participants.id'), room: eq('roomId'), enquiry: eq('enquiryId'), type: eq('type') },
    text: ['name'],
    columns: ['id', 'type', 'name', 'createdAt', 'enquiryId', 'participants', 'messageCount', 'callCount', 'firstActivityAt', 'lastActivityAt'],
  },
  calls: {
    name: 'calls', collection: RECORD_COLLECTIONS.calls, idField: 'callId', dateField: 'startedAt',
    sortable: ['startedAt', 'endedAt', 'durationSec', 'result', 'direction'], defaultSort: 'startedAt', defaultOrder: 'desc',
    params: {
      staff: eq('from.id', 'to.id'), contact: eq('from.id', 'to.id'), room: eq('roomId'), enquiry: eq('enquiryId'), direction: eq('direction'),
      result: eq('result'), kind: eq('kind'), number: sub('from.number', 'to.number'),
    },
    text: ['from.number', 'to.number'],
    columns: ['id', 'kind', 'direction', 'result', 'from.number', 'from.name', 'to.number', 'to.name', 'startedAt', 'answeredAt', 'endedAt', 'durationSec', 'roomId', 'enquiryId', 'recordingFileId', 'voicemailFileId'],
  },
  conferences: {
    name: 'conferences', collection: RECORD_COLLECTIONS.conferences, idField: 'conferenceId', dateField: 'startedAt',
    sortable: ['startedAt', 'endedAt', 'durationSec', 'title'], defaultSort: 'startedAt', defaultOrder: 'desc',
    params: { staff: eq('participants.id'), contact: eq('participants.id'), room: eq('roomId') },
    text: ['title', 'participants.name', 'participants.number'],
    columns: ['id', 'title', 'host', 'hostName', 'startedAt', 'endedAt', 'durationSec', 'participants', 'roomId', 'recordingFileId'],
  },
  files: {
    name: 'files', collection: RECORD_COLLECTIONS.files, idField: 'fileId', dateField: 'uploadedAt',
    sortable: ['uploadedAt', 'name', 'size', 'category'], defaultSort: 'uploadedAt', defaultOrder: 'desc',
    params: { ...fileParams, category: eq('category') },
    text: ['name'],
    columns: fileColumns,
  },
  voicemails: {
    name: 'voicemails', collection: RECORD_COLLECTIONS.files, idField: 'fileId', dateField: 'callStartedAt', base: { category: 'voicemail' },
    sortable: ['callStartedAt', 'uploadedAt', 'name', 'size'], defaultSort: 'callStartedAt', defaultOrder: 'desc', paths: CALL_TIME_PATHS,
    params: mediaParams,
    text: ['name'],
    columns: [...fileColumns, 'call.from.name', 'call.from.number', 'call.to.name', 'call.to.number', 'call.startedAt', 'call.durationSec'],
  },
  recordings: {
    name: 'recordings', collection: RECORD_COLLECTIONS.files, idField: 'fileId', dateField: 'callStartedAt',
    base: { category: { $in: ['call-recording', 'conference-recording'] } },
    sortable: ['callStartedAt', 'uploadedAt', 'name', 'size', 'category'], defaultSort: 'callStartedAt', defaultOrder: 'desc', paths: CALL_TIME_PATHS,
    params: { ...mediaParams, category: eq('category') },
    text: ['name'],
    columns: [...fileColumns, 'call.from.name', 'call.from.number', 'call.to.name', 'call.to.number', 'call.startedAt', 'call.durationSec', 'conference.title', 'conference.startedAt', 'conference.durationSec'],
  },
  messages: {
    name: 'messages', collection: RECORD_COLLECTIONS.messages, idField: 'messageId', dateField: 'sentAt',
    sortable: ['sentAt'], defaultSort: 'sentAt', defaultOrder: 'desc',
    params: { staff: eq('sender.id'), contact: eq('sender.id'), room: eq('roomId'), enquiry: eq('enquiryId'), type: eq('type') },
    text: ['text'],
    columns: ['id', 'sentAt', 'roomId', 'enquiryId', 'sender.kind', 'sender.id', 'sender.name', 'type', 'text', 'attachments', 'editedAt', 'deleted'],
  },
  staff: {
    name: 'staff', collection: RECORD_COLLECTIONS.staff, idField: 'staffId',
    sortable: ['displayName', 'email', 'extension', 'department', 'role', 'status'], defaultSort: 'displayName', defaultOrder: 'asc',
    params: { status: eq('status'), department: eq('department'), role: eq('role') },
    text: ['displayName', 'email', 'extension', 'department'],
    columns: ['id', 'displayName', 'email', 'extension', 'department', 'role', 'status', 'createdAt', 'updatedAt'],
  },
  contacts: {
    name: 'contacts', collection: RECORD_COLLECTIONS.contacts, idField: 'contactId',
    sortable: ['name', 'company'], defaultSort: 'name', defaultOrder: 'asc',
    params: { tag: eq('tags'), number: sub('phones.number') },
    text: ['name', 'company', 'phones.number', 'emails'],
    columns: ['id', 'name', 'company', 'phones', 'emails', 'tags', 'createdAt', 'updatedAt'],
  },
};

/** The validated query string of a list or export request (the route schema admits only these keys, as strings). */
export interface ListQuery {
  q?: string;
  from?: string;
  to?: string;
  sort?: string;
  order?: SortOrder;
  limit?: number;
  cursor?: string;
  [param: string]: string | number | undefined;
}

/** JSON schema of a list's query string: only this type's parameters, plain strings, nothing else. */
export function listQuerySchema(def: ListTypeDef, opts: { paged: boolean }): Document {
  const str = { type: 'string', maxLength: 200 };
  const properties: Record<string, unknown> = {
    q: { type: 'string', maxLength: 200, description: 'Free text (literal, case-insensitive)' },
    sort: { type: 'string', enum: [...def.sortable] },
    order: { type: 'string', enum: ['asc', 'desc'] },
  };
  if (def.dateField) {
    properties.from = { type: 'string', format: 'date-time', description: `${def.dateField} >= from` };
    properties.to = { type: 'string', format: 'date-time', description: `${def.dateField} <= to` };
  }
  for (const p of Object.keys(def.params)) properties[p] = str;
  if (opts.paged) {
    properties.limit = { type: 'integer', minimum: 1, maximum: 200, default: 50 };
    properties.cursor = { type: 'string', maxLength: 2000 };
  }
  return { type: 'object', properties, additionalProperties: false };
}
