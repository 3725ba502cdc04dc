import type { Db } from 'mongodb';
import { containsText } from './regex.js';
import { RECORD_COLLECTIONS } from './types.js';

const unique = (ids: Iterable<unknown>): string[] => [...new Set([...ids].filter((x): x is string => typeof x === 'string' && x !== ''))];

/** Display names of staff and contacts, fetched for a page's ids with one query each (no $lookup on FerretDB). */
export class NameResolver {
  constructor(private readonly db: Db) {}

  async names(staffIds: Iterable<unknown>, contactIds: Iterable<unknown>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const s = unique(staffIds);
    const c = unique(contactIds);
    const [staff, contacts] = await Promise.all([
      s.length === 0 ? [] : this.db.collection(RECORD_COLLECTIONS.staff).find({ staffId: { $in: s } }, { projection: { _id: 0, staffId: 1, displayName: 1 } }).toArray(),
      c.length === 0 ? [] : this.db.collection(RECORD_COLLECTIONS.contacts).find({ contactId: { $in: c } }, { projection: { _id: 0, contactId: 1, name: 1 } }).toArray(),
    ]);
    for (const d of staff) if (typeof d.staffId === 'string') out.set(d.staffId, String(d.displayName ?? ''));
    for (const d of contacts) if (typeof d.contactId === 'string') out.set(d.contactId, String(d.name ?? ''));
    return out;
  }

  /** Ids of staff and contacts whose name contains `text` (for searching calls by name); at most `limit` of each. */
  async idsNamed(text: string, limit = 200): Promise<string[]> {
    const [staff, contacts] = await Promise.all([
      this.db.collection(RECORD_COLLECTIONS.staff).find({ displayName: containsText(text) }, { projection: { _id: 0, staffId: 1 } }).limit(limit).toArray(),
      this.db.collection(RECORD_COLLECTIONS.contacts).find({ name: containsText(text) }, { projection: { _id: 0, contactId: 1 } }).limit(limit).toArray(),
    ]);
    return unique([...staff.map((d): unknown => d.staffId), ...contacts.map((d): unknown => d.contactId)]);
  }
}
