import type { Db } from 'mongodb';
import { containsText } from './regex.js';
import { RECORD_COLLECTIONS } from './types.js';
import { visible } from './visible.js';

const unique = (ids: Iterable<unknown>): string[] => [...new Set([...ids].filter((x): x is string => typeof x === 'string' && x !== ''))];

const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 20_000;

/**
 * Display names of staff and contacts, fetched for a page's ids with one query each (no $lookup on FerretDB) and
 * kept for a minute (names change at most once a day, with the next archive), so list pages rarely pay for them.
 */
export class NameResolver {
  private readonly cache = new Map<string, { name: string; until: number }>();

  constructor(private readonly db: Db, private readonly now: () => number = () => Date.now()) {}

  private cached(key: string, now: number): string | undefined {
    const hit = this.cache.get(key);
    return hit && hit.until > now ? hit.name : undefined;
  }

  private remember(key: string, name: string, now: number): void {
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(key, { name, until: now + CACHE_TTL_MS });
  }

  async names(staffIds: Iterable<unknown>, contactIds: Iterable<unknown>, maxTimeMS: number): Promise<Map<string, string>> {
    const now = this.now();
    const out = new Map<string, string>();
    const missing = (ids: Iterable<unknown>, prefix: string): string[] =>
      unique(ids).filter((id) => {
        const name = this.cached(prefix + id, now);
        if (name !== undefined) out.set(id, name);
        return name === undefined;
      });
    const s = missing(staffIds, 's:');
    const c = missing(contactIds, 'c:');
    const [staff, contacts] = await Promise.all([
      s.length === 0 ? [] : this.db.collection(RECORD_COLLECTIONS.staff).find(visible({ staffId: { $in: s } }), { projection: { _id: 0, staffId: 1, displayName: 1 }, maxTimeMS }).toArray(),
      c.length === 0 ? [] : this.db.collection(RECORD_COLLECTIONS.contacts).find(visible({ contactId: { $in: c } }), { projection: { _id: 0, contactId: 1, name: 1 }, maxTimeMS }).toArray(),
    ]);
    for (const d of staff) {
      if (typeof d.staffId !== 'string') continue;
      const name = String(d.displayName ?? '');
      out.set(d.staffId, name);
      this.remember(`s:${d.staffId}`, name, now);
    }
    for (const d of contacts) {
      if (typeof d.contactId !== 'string') continue;
      const name = String(d.name ?? '');
      out.set(d.contactId, name);
      this.remember(`c:${d.contactId}`, name, now);
    }
    return out;
  }

  /** Ids of staff and contacts whose name contains `text` (for searching calls by name); at most `limit` of each. */
  async idsNamed(text: string, limit = 200, maxTimeMS = 15_000): Promise<string[]> {
    const [staff, contacts] = await Promise.all([
      this.db.collection(RECORD_COLLECTIONS.staff).find(visible({ displayName: containsText(text) }), { projection: { _id: 0, staffId: 1 }, maxTimeMS }).limit(limit).toArray(),
      this.db.collection(RECORD_COLLECTIONS.contacts).find(visible({ name: containsText(text) }), { projection: { _id: 0, contactId: 1 }, maxTimeMS }).limit(limit).toArray(),
    ]);
    return unique([...staff.map((d): unknown => d.staffId), ...contacts.map((d): unknown => d.contactId)]);
  }
}
