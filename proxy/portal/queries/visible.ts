import type { Document } from 'mongodb';

/**
 * Retention: records an enforcing policy archived carry `_archived` and are hidden from every auditor read (lists,
 * search, exports, details, threads, room statistics, name resolution, media). Every such read goes through this.
 */
export function visible(filter: Document = {}): Document {
  return Object.keys(filter).length === 0 ? { _archived: { $exists: false } } : { $and: [filter, { _archived: { $exists: false } }] };
}

/**
 * The same rule for a document already read (room statistics stream a room's records with a plain `roomId` filter,
 * which FerretDB pushes down to SQLite where the `$and` of visible() is not, and count the visible ones).
 */
export function isVisible(doc: Document): boolean {
  return doc._archived === undefined;
}
