import type { Document } from 'mongodb';

/** Retention's archive mark: a record an enforcing policy archived. */
const NOT_ARCHIVED: Document = { _archived: { $exists: false } };
/**
 * One person, one identity (proxy/importer/identity.ts): an earlier version of a staff member, contact or room that
 * the vendor delivered under another `_id` carries `_retention.superseded: true`; only its history shows it.
 */
const CURRENT: Document = { '_retention.superseded': { $ne: true } };

/**
 * What auditors see: records an enforcing policy archived carry `_archived`, and earlier versions of a person or
 * room are superseded; both are hidden from every auditor read (lists, search, exports, details, threads, room
 * statistics, name resolution, media). Every such read goes through this.
 */
export function visible(filter: Document = {}): Document {
  return Object.keys(filter).length === 0 ? { ...NOT_ARCHIVED, ...CURRENT } : { $and: [filter, NOT_ARCHIVED, CURRENT] };
}

/** Not archived, superseded or not: every stored version of a record (a person's or room's history). */
export function unarchived(filter: Document = {}): Document {
  return Object.keys(filter).length === 0 ? NOT_ARCHIVED : { $and: [filter, NOT_ARCHIVED] };
}

/**
 * The same rule for a document already read (room statistics stream a room's records with a plain `roomId` filter,
 * which FerretDB pushes down to SQLite where the `$and` of visible() is not, and count the visible ones).
 */
export function isVisible(doc: Document): boolean {
  return doc._archived === undefined;
}
