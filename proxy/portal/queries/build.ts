import type { Document, Sort } from 'mongodb';
import { ProxyError } from '../../errors.js';
import { decodeCursor, type CursorPosition, type SortOrder } from './cursor.js';
import { containsText } from './regex.js';
import { visible } from './visible.js';
import { pathOf, type ListQuery, type ListTypeDef } from './types.js';

export interface BuiltQuery {
  filter: Document;
  sort: Sort;
  /** The API's sort name (cursors carry it) and the stored field it sorts on. */
  sortField: string;
  sortPath: string;
  order: SortOrder;
}

/** A query value must be a plain string: anything else (an object like {"$ne": ...}, an array) is refused. */
function plainString(name: string, value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new ProxyError('VALIDATION', `${name} must be a string`);
  return value;
}

function parseDate(name: string, value: unknown): Date | undefined {
  const s = plainString(name, value);
  if (s === undefined) return undefined;
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new ProxyError('VALIDATION', `${name} is not a date-time`);
  return d;
}

function anyOf(fields: readonly string[], cond: unknown): Document {
  return fields.length === 1 ? { [fields[0] as string]: cond } : { $or: fields.map((f) => ({ [f]: cond })) };
}

/**
 * The MongoDB filter and sort for a list request. Only the type's allow-listed fields appear as keys; user input
 * only ever appears as a string value (equality) or as an escaped regular expression, so no operator can be injected.
 * `extraText` adds alternatives to the `q` match (e.g. ids of staff whose names match); `extraAnd` conditions the
 * caller resolved (a `party` parameter).
 */
export function buildListQuery(def: ListTypeDef, query: ListQuery, extraText: Document[] = [], extraAnd: Document[] = []): BuiltQuery {
  const and: Document[] = [...extraAnd];
  if (def.base) and.push(def.base);
  // Archived records (retention) are hidden from every list, search and export.
  if (def.name !== 'audit') and.push(visible());

  if (def.dateField) {
    const from = parseDate('from', query.from);
    const to = parseDate('to', query.to);
    if (from || to) and.push({ [pathOf(def, def.dateField)]: { ...(from ? { $gte: from } : {}), ...(to ? { $lte: to } : {}) } });
  }
  for (const [param, match] of Object.entries(def.params)) {
    const value = plainString(param, query[param]);
    if (value === undefined || match.kind === 'party') continue; // party: resolved by the caller into extraAnd
    and.push(anyOf(match.fields, match.kind === 'eq' ? value : containsText(value)));
  }
  const q = plainString('q', query.q);
  if (q !== undefined) and.push({ $or: [...def.text.map((f) => ({ [f]: containsText(q) })), ...extraText] });

  const sortField = plainString('sort', query.sort) ?? def.defaultSort;
  if (!def.sortable.includes(sortField)) throw new ProxyError('VALIDATION', `sort must be one of ${def.sortable.join(', ')}`);
  const orderText = plainString('order', query.order);
  if (orderText !== undefined && orderText !== 'asc' && orderText !== 'desc') throw new ProxyError('VALIDATION', 'order must be asc or desc');
  const order: SortOrder = orderText ?? (sortField === def.defaultSort ? def.defaultOrder : 'asc');
  const dir = order === 'asc' ? 1 : -1;

  const cursorText = plainString('cursor', query.cursor);
  const sortPath = pathOf(def, sortField);
  if (cursorText !== undefined) and.push(afterCursor({ ...decodeCursor(cursorText, { field: sortField, order }), field: sortPath }));

  const filter = and.length === 0 ? {} : and.length === 1 ? (and[0] as Document) : { $and: and };
  return { filter, sort: { [sortPath]: dir, _id: dir }, sortField, sortPath, order };
}

/** Rows strictly after the cursor position in (sortField, _id) order. */
export function afterCursor(c: CursorPosition): Document {
  const op = c.order === 'asc' ? '$gt' : '$lt';
  return { $or: [{ [c.field]: { [op]: c.value } }, { [c.field]: c.value, _id: { [op]: c.id } }] };
}
