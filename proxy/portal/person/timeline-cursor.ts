import { ObjectId, type Document } from 'mongodb';
import { ProxyError } from '../../errors.js';
import { SOURCE_RANK, TIMELINE_TYPES, type TimelineSource, type TimelineType } from './sources.js';

/** Where a timeline page ended: the last row's (time, type, _id). */
export interface TimelinePosition { at: Date; type: TimelineType; id: ObjectId | string }

const bad = (): ProxyError => new ProxyError('VALIDATION', 'cursor is not valid for this timeline');

/** Opaque to clients: base64url of a small JSON array. */
export function encodeTimelineCursor(p: TimelinePosition): string {
  const id = p.id instanceof ObjectId ? { o: p.id.toHexString() } : { s: p.id };
  return Buffer.from(JSON.stringify([p.at.toISOString(), p.type, id]), 'utf8').toString('base64url');
}

export function decodeTimelineCursor(text: string): TimelinePosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw bad();
  const [atText, type, id] = parsed as unknown[];
  const at = typeof atText === 'string' ? new Date(atText) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) throw bad();
  if (typeof type !== 'string' || !(TIMELINE_TYPES as readonly string[]).includes(type)) throw bad();
  const o = typeof id === 'object' && id !== null ? (id as Record<string, unknown>) : {};
  if (typeof o.o === 'string' && /^[0-9a-f]{24}$/.test(o.o)) return { at, type: type as TimelineType, id: new ObjectId(o.o) };
  if (typeof o.s === 'string') return { at, type: type as TimelineType, id: o.s };
  throw bad();
}

/** `_id` after `id` in MongoDB's order (strings sort before ObjectIds, and $gt only compares within one type). */
function idAfter(id: ObjectId | string): Document {
  return id instanceof ObjectId ? { _id: { $gt: id } } : { $or: [{ _id: { $gt: id } }, { _id: { $type: 'objectId' } }] };
}

/** The rows of `source` strictly after the position in (time, source rank, _id) order. */
export function afterPosition(source: TimelineSource, p: TimelinePosition): Document {
  const rank = SOURCE_RANK.get(source.type) ?? 0;
  const at = SOURCE_RANK.get(p.type) ?? 0;
  const tf = source.timeField;
  if (rank < at) return { [tf]: { $gt: p.at } };
  if (rank > at) return { [tf]: { $gte: p.at } };
  return { $or: [{ [tf]: { $gt: p.at } }, { $and: [{ [tf]: p.at }, idAfter(p.id)] }] };
}

/** Compares two `_id`s as MongoDB sorts them (enough for the types records have: ObjectId and string). */
export function compareIds(a: unknown, b: unknown): number {
  const ka = a instanceof ObjectId ? `1${a.toHexString()}` : `0${String(a)}`;
  const kb = b instanceof ObjectId ? `1${b.toHexString()}` : `0${String(b)}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
