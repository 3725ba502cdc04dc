import { ProxyError } from '../errors.js';
import { DATA_TYPE_DEFS, isDataType } from './data-types.js';
import type { DataType, HoldScope, PolicyInput, PolicyPatch, PolicyScope } from './types.js';

const bad = (msg: string): never => {
  throw new ProxyError('VALIDATION', msg);
};

export const POLICY_ID = /^[a-z0-9-]{1,64}$/;
const MAX_LIST = 1000;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(name: string, v: unknown, max: number): string {
  if (typeof v !== 'string' || v.trim() === '') return bad(`${name} must be a non-empty string`);
  if (v.length > max) return bad(`${name} must be at most ${max} characters`);
  return v.trim();
}

function days(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 5000) return bad(`${name} must be a whole number of days from ${min} to 5000`);
  return v;
}

function stringList(name: string, v: unknown, { allowEmpty }: { allowEmpty: boolean }): string[] {
  if (!Array.isArray(v)) return bad(`${name} must be a list of ids`);
  if (!allowEmpty && v.length === 0) return bad(`${name} must list at least one value`);
  if (v.length > MAX_LIST) return bad(`${name} lists more than ${MAX_LIST} values`);
  return [...new Set(v.map((x, i) => text(`${name}[${i}]`, x, 200)))];
}

export function validateDataType(v: unknown): DataType {
  if (!isDataType(v)) return bad(`dataType must be one of ${Object.keys(DATA_TYPE_DEFS).join(', ')}`);
  return v;
}

/** A scope that fits the data type: room for room-bound data, channel for enquiries, department for staff. */
export function validateScope(dataType: DataType, v: unknown): PolicyScope {
  if (!isObject(v)) return bad('scope must be an object with kind all, room, department or channel');
  const def = DATA_TYPE_DEFS[dataType];
  const kind = v.kind;
  if (kind === 'all') {
    if (Object.keys(v).length !== 1) return bad('scope {kind: "all"} takes no other field');
    return { kind: 'all' };
  }
  if (kind !== 'room' && kind !== 'department' && kind !== 'channel') return bad('scope.kind must be all, room, department or channel');
  if (!def.scopes.includes(kind)) {
    const fits = def.scopes.length === 0 ? 'only "all"' : `"all" or ${def.scopes.map((s) => `"${s}"`).join(', ')}`;
    return bad(`a ${kind} scope does not fit ${dataType} (scopes for ${dataType}: ${fits})`);
  }
  const field = kind === 'room' ? 'ids' : 'values';
  if (Object.keys(v).some((k) => k !== 'kind' && k !== field)) return bad(`scope {kind: "${kind}"} takes only "${field}"`);
  const list = stringList(`scope.${field}`, v[field], { allowEmpty: false });
  return kind === 'room' ? { kind, ids: list } : { kind, values: list };
}

export function validatePolicyInput(v: unknown): PolicyInput {
  if (!isObject(v)) return bad('policy must be an object');
  const id = v.id;
  if (typeof id !== 'string' || !POLICY_ID.test(id)) return bad('id must be 1 to 64 characters of a-z, 0-9 and -');
  const dataType = validateDataType(v.dataType);
  return {
    id,
    name: text('name', v.name, 200),
    dataType,
    scope: validateScope(dataType, v.scope),
    activeDays: days('activeDays', v.activeDays, 1),
    archiveDays: days('archiveDays', v.archiveDays, 0),
  };
}

export function validatePolicyPatch(dataType: DataType, v: unknown): PolicyPatch {
  if (!isObject(v)) return bad('the change must be an object');
  const allowed = ['name', 'scope', 'activeDays', 'archiveDays'];
  const unknown = Object.keys(v).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) return bad(`cannot change ${unknown.join(', ')} (only ${allowed.join(', ')})`);
  return {
    ...(v.name !== undefined ? { name: text('name', v.name, 200) } : {}),
    ...(v.scope !== undefined ? { scope: validateScope(dataType, v.scope) } : {}),
    ...(v.activeDays !== undefined ? { activeDays: days('activeDays', v.activeDays, 1) } : {}),
    ...(v.archiveDays !== undefined ? { archiveDays: days('archiveDays', v.archiveDays, 0) } : {}),
  };
}

function date(name: string, v: unknown): Date {
  const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) return bad(`${name} must be a date-time`);
  return d;
}

/** A date-only `to` (YYYY-MM-DD) means the end of that day in UTC: the whole last day is held. */
function endOfDay(d: Date, raw: unknown): Date {
  return typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(raw.trim()) ? new Date(d.getTime() + 86_400_000 - 1) : d;
}

export function validateHoldScope(v: unknown): HoldScope {
  if (!isObject(v)) return bad('scope must be an object');
  const keys = ['staff', 'contacts', 'rooms', 'enquiries', 'from', 'to'];
  const unknown = Object.keys(v).filter((k) => !keys.includes(k));
  if (unknown.length > 0) return bad(`scope cannot have ${unknown.join(', ')} (only ${keys.join(', ')})`);
  const scope: HoldScope = {};
  for (const k of ['staff', 'contacts', 'rooms', 'enquiries'] as const) {
    if (v[k] === undefined) continue;
    const list = stringList(`scope.${k}`, v[k], { allowEmpty: true });
    if (list.length > 0) scope[k] = list;
  }
  if (v.from !== undefined && v.from !== null && v.from !== '') scope.from = date('scope.from', v.from);
  if (v.to !== undefined && v.to !== null && v.to !== '') scope.to = endOfDay(date('scope.to', v.to), v.to);
  if (scope.from && scope.to && scope.from > scope.to) return bad('scope.from must not be after scope.to');
  if (Object.keys(scope).length === 0) return bad('a hold needs at least one of staff, contacts, rooms, enquiries, from, to');
  return scope;
}

export { text as validateText };
