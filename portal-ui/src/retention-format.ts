import type { RouteLocationRaw } from 'vue-router';
import type { DataType, HoldScope, PolicyScope, ScopeKind } from './api/retention-types';

/** Words and links of the retention pages. */

export const DATA_TYPE_LABELS: Record<DataType, string> = {
  enquiries: 'Enquiries',
  rooms: 'Rooms',
  messages: 'Text messages',
  calls: 'Calls',
  conferences: 'Conference calls',
  files: 'File records',
  staff: 'Staff',
  contacts: 'External contacts',
  'media:room-file': 'Media: room files',
  'media:voicemail': 'Media: voicemail',
  'media:call-recording': 'Media: call recordings',
  'media:conference-recording': 'Media: conference recordings',
  'media:avatar': 'Media: avatars',
  'media:tag-icon': 'Media: tag icons',
};

export const SCOPE_LABELS: Record<ScopeKind, string> = { all: 'Everything', room: 'Rooms', department: 'Staff departments', channel: 'Enquiry channels' };

/** The scopes that fit a data type (the server refuses the others). */
export function scopesFor(type: DataType): ScopeKind[] {
  if (type === 'enquiries') return ['all', 'channel'];
  if (type === 'staff') return ['all', 'department'];
  if (type === 'contacts') return ['all'];
  return ['all', 'room'];
}

/** A scope from the form: kind and a comma/space separated list. */
export function scopeFrom(kind: ScopeKind, values: string): PolicyScope {
  const list = values.split(/[\s,]+/).map((v) => v.trim()).filter(Boolean);
  if (kind === 'room') return { kind, ids: list };
  if (kind === 'department' || kind === 'channel') return { kind, values: list };
  return { kind: 'all' };
}

export function scopeValues(scope: PolicyScope): string {
  if (scope.kind === 'room') return scope.ids.join(', ');
  if (scope.kind === 'all') return '';
  return scope.values.join(', ');
}

export function scopeText(scope: PolicyScope): string {
  return scope.kind === 'all' ? 'Everything' : `${SCOPE_LABELS[scope.kind]}: ${scopeValues(scope)}`;
}

export function holdScopeText(scope: HoldScope): string {
  const parts: string[] = [];
  const add = (label: string, ids: string[] | undefined): void => {
    if (ids && ids.length > 0) parts.push(`${label}: ${ids.join(', ')}`);
  };
  add('Staff', scope.staff);
  add('Contacts', scope.contacts);
  add('Rooms', scope.rooms);
  add('Enquiries', scope.enquiries);
  if (scope.from || scope.to) parts.push(`Dates: ${scope.from?.slice(0, 10) ?? '…'} to ${scope.to?.slice(0, 10) ?? '…'}`);
  return parts.join('; ');
}

export function idList(text: string): string[] {
  return text.split(/[\s,]+/).map((v) => v.trim()).filter(Boolean);
}

const DETAIL_ROUTES: Record<string, string> = {
  enquiries: 'enquiry', rooms: 'room', messages: 'message', calls: 'call', conferences: 'conference', files: 'file', staff: 'staff-member', contacts: 'contact',
};

/** The record page of a sample: its detail page while active; media samples are file records' ids. */
export function recordLink(type: DataType, id: string): RouteLocationRaw {
  const name = DETAIL_ROUTES[type.startsWith('media:') ? 'files' : type] ?? 'file';
  return { name, params: { id } };
}

/** The admin's view of an archived record. */
export function archivedLink(type: DataType, id: string): RouteLocationRaw {
  return { name: 'retention-archived-record', params: { type, id } };
}
