import { ObjectId } from 'mongodb';
import { ProxyError } from '../../errors.js';

export type SortOrder = 'asc' | 'desc';
export type CursorValue = string | number | boolean | Date | null;

/** Where the previous page ended: the sort key and `_id` of its last row, for keyset pagination on (sortField, _id). */
export interface CursorPosition { field: string; order: SortOrder; value: CursorValue; id: ObjectId | string }

type Tagged = { d: string } | { s: string } | { n: number } | { b: boolean } | { z: 1 };

function tag(v: CursorValue): Tagged {
  if (v === null) return { z: 1 };
  if (v instanceof Date) return { d: v.toISOString() };
  if (typeof v === 'string') return { s: v };
  if (typeof v === 'number') return { n: v };
  return { b: v };
}

function untag(t: unknown): CursorValue {
  if (typeof t !== 'object' || t === null || Array.isArray(t)) throw bad();
  const o = t as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length !== 1) throw bad();
  if (typeof o.d === 'string') {
    const d = new Date(o.d);
    if (Number.isNaN(d.getTime())) throw bad();
    return d;
  }
  if (typeof o.s === 'string') return o.s;
  if (typeof o.n === 'number' && Number.isFinite(o.n)) return o.n;
  if (typeof o.b === 'boolean') return o.b;
  if (o.z === 1) return null;
  throw bad();
}

const bad = (): ProxyError => new ProxyError('VALIDATION', 'cursor is not valid for this list');

/** Opaque to clients: base64url of a small JSON array. */
export function encodeCursor(p: CursorPosition): string {
  const id = p.id instanceof ObjectId ? { o: p.id.toHexString() } : { s: p.id };
  return Buffer.from(JSON.stringify([p.field, p.order, tag(p.value), id]), 'utf8').toString('base64url');
}

/** Decodes and checks that the cursor belongs to the same sort; anything else is a 400 VALIDATION. */
export function decodeCursor(text: string, expect: { field: string; order: SortOrder }): CursorPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw bad();
  const [field, order, value, id] = parsed as unknown[];
  if (field !== expect.field || order !== expect.order) throw bad();
  const idObj = id as Record<string, unknown> | null;
  let docId: ObjectId | string;
  if (idObj && typeof idObj.o === 'string' && ObjectId.isValid(idObj.o) && /^[0-9a-f]{24}$/.test(idObj.o)) docId = new ObjectId(idObj.o);
  else if (idObj && typeof idObj.s === 'string') docId = idObj.s;
  else throw bad();
  return { field: expect.field, order: expect.order, value: untag(value), id: docId };
}
