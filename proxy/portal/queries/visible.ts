import type { Document } from 'mongodb';

/**
 * Retention: records an enforcing policy archived carry `_archived` and are hidden from every auditor read (lists,
 * search, exports, details, threads, room statistics, name resolution, media). Every such read goes through this.
 */
export function visible(filter: Document = {}): Document {
  return Object.keys(filter).length === 0 ? { _archived: { $exists: false } } : { $and: [filter, { _archived: { $exists: false } }] };
}
