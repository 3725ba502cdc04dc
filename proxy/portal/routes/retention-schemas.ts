import { DATA_TYPES, type Hold, type Policy, type Run } from '../../retention/index.js';
import { LIST_TYPES } from '../queries/types.js';

/** JSON schemas and response views shared by the retention governance routes (docs/portal-api.md). */

export const Tags = ['retention'];

const str = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;
const idList = { type: 'array', maxItems: 1000, items: str(200) } as const;

export const PolicyId = { type: 'string', pattern: '^[a-z0-9-]{1,64}$' } as const;
export const PolicyIdParam = { type: 'object', required: ['id'], properties: { id: PolicyId } } as const;
export const IdParam = { type: 'object', required: ['id'], properties: { id: str(200) } } as const;
export const DataTypeSchema = { type: 'string', enum: [...DATA_TYPES] } as const;
export const TypeIdParams = { type: 'object', required: ['type', 'id'], properties: { type: DataTypeSchema, id: str(1000) } } as const;
/** The record-status route takes the portal's list types (voicemails, recordings) as well as the data types. */
export const StatusParams = {
  type: 'object', required: ['type', 'id'],
  properties: { type: { type: 'string', enum: [...new Set<string>([...LIST_TYPES, ...DATA_TYPES])] }, id: str(1000) },
} as const;

/** A non-blank reason (restore, release). */
export const Reason = { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' } as const;
export const ReasonBody = { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: Reason } } as const;

/** Which scope kind fits which data type is checked by the service (VALIDATION with a clear message). */
export const ScopeSchema = {
  type: 'object', required: ['kind'], additionalProperties: false,
  properties: { kind: { type: 'string', enum: ['all', 'room', 'department', 'channel'] }, ids: idList, values: idList },
} as const;
const Days = (min: number) => ({ type: 'integer', minimum: min, maximum: 5000 }) as const;
const Name = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;

export const PolicyCreateBody = {
  type: 'object', required: ['id', 'name', 'dataType', 'scope', 'activeDays', 'archiveDays'], additionalProperties: false,
  properties: { id: PolicyId, name: Name, dataType: DataTypeSchema, scope: ScopeSchema, activeDays: Days(1), archiveDays: Days(0) },
} as const;
export const PolicyPatchBody = {
  type: 'object', additionalProperties: false, minProperties: 1,
  properties: { name: Name, scope: ScopeSchema, activeDays: Days(1), archiveDays: Days(0) },
} as const;
export const PolicyModeBody = {
  type: 'object', required: ['mode'], additionalProperties: false,
  properties: { mode: { type: 'string', enum: ['enforce', 'dry-run'] }, confirm: { type: 'string', maxLength: 200 } },
} as const;

export const HoldCreateBody = {
  type: 'object', required: ['name', 'reason', 'scope'], additionalProperties: false,
  properties: {
    name: Name,
    reason: Reason,
    scope: {
      type: 'object', additionalProperties: false, minProperties: 1,
      properties: { staff: idList, contacts: idList, rooms: idList, enquiries: idList, from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' } },
    },
  },
} as const;

const Obj = { type: 'object', additionalProperties: true } as const;
export const ItemsOf = { type: 'object', properties: { items: { type: 'array', items: Obj } } } as const;
export const RunIdBody = { type: 'object', properties: { runId: { type: 'string' } } } as const;
export const RestoredBody = { type: 'object', properties: { restored: { type: 'integer' } } } as const;
export const RecordStatusBody = {
  type: 'object',
  properties: {
    policy: { type: ['object', 'null'], properties: { id: { type: 'string' }, name: { type: 'string' }, mode: { type: 'string' } } },
    archiveAt: { type: ['string', 'null'], format: 'date-time' },
    destroyAt: { type: ['string', 'null'], format: 'date-time' },
    holds: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } } },
    archived: { type: 'object', properties: { runId: { type: 'string' }, policyId: { type: 'string' }, at: { type: 'string', format: 'date-time' } } },
  },
} as const;
export { Obj as AnyObjectBody };

/** The API's shapes: `id` instead of the stored `_id`. */
export type PolicyView = Omit<Policy, '_id'> & { id: string };
export type HoldView = Omit<Hold, '_id'> & { id: string };
export type RunView = Omit<Run, '_id'> & { id: string };

export function policyView({ _id, ...rest }: Policy): PolicyView {
  return { id: _id, ...rest };
}
export function holdView({ _id, ...rest }: Hold): HoldView {
  return { id: _id, ...rest };
}
export function runView({ _id, ...rest }: Run): RunView {
  return { id: _id, ...rest };
}
