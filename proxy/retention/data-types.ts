import type { Document } from 'mongodb';
import { MEDIA_BUCKET } from '../importer/entry-mapping.js';
import { LIST_DEFS, type ListTypeName } from '../portal/queries/types.js';
import { DATA_TYPES, type DataType, type MediaDataType, type PolicyScope, type RecordDataType } from './types.js';

export const MEDIA_FILES = `${MEDIA_BUCKET}.files`;
export const MEDIA_CHUNKS = `${MEDIA_BUCKET}.chunks`;

/** How one data type is stored: collection, business id and the date its retention clock runs from. */
export interface DataTypeDef {
  readonly type: DataType;
  readonly kind: 'record' | 'media';
  /** The record collection (media: the file records' collection, file-management.files). */
  readonly collection: string;
  readonly idField: string;
  /** The clock date; undefined for staff and contacts, which age from their last delivery (`_retention`). */
  readonly clockField: string | undefined;
  /** Media: the file record `category`. */
  readonly category?: string;
  /** Scope kinds that fit this data (besides 'all'). */
  readonly scopes: readonly PolicyScope['kind'][];
  /** Field a room scope matches. */
  readonly roomField?: string;
}

function recordDef(type: RecordDataType, list: ListTypeName, scopes: readonly PolicyScope['kind'][], roomField?: string): DataTypeDef {
  const d = LIST_DEFS[list];
  return { type, kind: 'record', collection: d.collection, idField: d.idField, clockField: d.dateField, scopes, ...(roomField ? { roomField } : {}) };
}

function mediaDef(type: MediaDataType): DataTypeDef {
  const d = LIST_DEFS.files;
  return { type, kind: 'media', collection: d.collection, idField: 'storagePath', clockField: d.dateField, category: type.slice('media:'.length), scopes: ['room'], roomField: 'roomId' };
}

export const DATA_TYPE_DEFS: Readonly<Record<DataType, DataTypeDef>> = {
  enquiries: recordDef('enquiries', 'enquiries', ['channel']),
  rooms: recordDef('rooms', 'rooms', ['room'], 'roomId'),
  messages: recordDef('messages', 'messages', ['room'], 'roomId'),
  calls: recordDef('calls', 'calls', ['room'], 'roomId'),
  conferences: recordDef('conferences', 'conferences', ['room'], 'roomId'),
  files: recordDef('files', 'files', ['room'], 'roomId'),
  staff: recordDef('staff', 'staff', ['department']),
  contacts: recordDef('contacts', 'contacts', []),
  'media:room-file': mediaDef('media:room-file'),
  'media:voicemail': mediaDef('media:voicemail'),
  'media:call-recording': mediaDef('media:call-recording'),
  'media:conference-recording': mediaDef('media:conference-recording'),
  'media:avatar': mediaDef('media:avatar'),
  'media:tag-icon': mediaDef('media:tag-icon'),
};

export function isDataType(v: unknown): v is DataType {
  return typeof v === 'string' && (DATA_TYPES as readonly string[]).includes(v);
}

/** The portal's list types map onto record data types (voicemails and recordings are views of files). */
export function dataTypeOfListType(list: ListTypeName): RecordDataType {
  return list === 'voicemails' || list === 'recordings' ? 'files' : list;
}

/** The record collection's filter for one policy scope (media: on the file records). */
export function scopeFilter(def: DataTypeDef, scope: PolicyScope): Document {
  const base: Document = def.category ? { category: def.category } : {};
  switch (scope.kind) {
    case 'all':
      return base;
    case 'room':
      return { ...base, [def.roomField ?? 'roomId']: { $in: scope.ids } };
    case 'department':
      return { ...base, department: { $in: scope.values } };
    case 'channel':
      return { ...base, channel: { $in: scope.values } };
  }
}
