import { ObjectId, type Collection, type Db } from 'mongodb';
import { ensureIndexes } from '../db/ensure-indexes.js';
import { ProxyError } from '../errors.js';
import { PORTAL_COLLECTIONS } from './collections.js';
import type { ListTypeName } from './queries/types.js';

/** How many saved searches one user may keep (a bound, so one account cannot fill the collection). */
export const SAVED_SEARCHES_PER_USER = 100;
/** How many rows the admins' overview returns at most (newest first). */
export const SAVED_SEARCHES_OVERVIEW_LIMIT = 2000;

export interface SavedSearchDoc {
  _id: ObjectId;
  owner: string;
  name: string;
  /** The name as compared for uniqueness: NFC, trimmed, lower case. */
  nameKey: string;
  list: ListTypeName;
  /** The list's filters exactly as its URL carries them (validated against that list's query schema). */
  query: Record<string, string>;
  createdAt: Date;
}

export interface SavedSearchView { id: string; owner: string; name: string; list: ListTypeName; query: Record<string, string>; createdAt: Date }

function view(d: SavedSearchDoc): SavedSearchView {
  return { id: d._id.toHexString(), owner: d.owner, name: d.name, list: d.list, query: d.query, createdAt: d.createdAt };
}

export function savedSearchNameKey(name: string): string {
  return name.normalize('NFC').trim().toLowerCase();
}

/** A user's named list filters (`portal.saved_searches`): each user sees and deletes their own; admins see all. */
export class SavedSearchStore {
  readonly col: Collection<SavedSearchDoc>;

  constructor(db: Db, private readonly now: () => Date = () => new Date()) {
    this.col = db.collection<SavedSearchDoc>(PORTAL_COLLECTIONS.savedSearches);
  }

  async ensureIndexes(): Promise<void> {
    await ensureIndexes(this.col, [
      { name: 'owner_list_name', key: { owner: 1, list: 1, nameKey: 1 }, options: { unique: true } },
      { name: 'owner_created', key: { owner: 1, createdAt: -1 } },
      { name: 'created', key: { createdAt: -1 } },
    ]);
  }

  async listOwn(owner: string): Promise<SavedSearchView[]> {
    return (await this.col.find({ owner }).sort({ createdAt: -1, _id: -1 }).limit(SAVED_SEARCHES_PER_USER).toArray()).map(view);
  }

  /** Everyone's saved searches, newest first (admins: who saved what). */
  async listAll(): Promise<{ items: SavedSearchView[]; truncated: boolean }> {
    const docs = await this.col.find({}).sort({ createdAt: -1, _id: -1 }).limit(SAVED_SEARCHES_OVERVIEW_LIMIT + 1).toArray();
    return { items: docs.slice(0, SAVED_SEARCHES_OVERVIEW_LIMIT).map(view), truncated: docs.length > SAVED_SEARCHES_OVERVIEW_LIMIT };
  }

  /**
   * Saves a search. The per-user bound holds under concurrent saves: insert, then count, and take the new one back
   * if the count went over (two racing saves may both be refused; neither can exceed the bound).
   */
  async create(owner: string, name: string, list: ListTypeName, query: Record<string, string>): Promise<SavedSearchView> {
    const clean = name.normalize('NFC').trim();
    if (clean === '') throw new ProxyError('VALIDATION', 'the saved search needs a name');
    if ((await this.col.countDocuments({ owner })) >= SAVED_SEARCHES_PER_USER) throw new ProxyError('SAVED_SEARCH_LIMIT', `${SAVED_SEARCHES_PER_USER} per user`);
    const doc: SavedSearchDoc = { _id: new ObjectId(), owner, name: clean, nameKey: savedSearchNameKey(clean), list, query, createdAt: this.now() };
    try {
      await this.col.insertOne(doc);
    } catch (err) {
      if ((err as { code?: number }).code === 11000) throw new ProxyError('SAVED_SEARCH_EXISTS', clean);
      throw err;
    }
    if ((await this.col.countDocuments({ owner })) > SAVED_SEARCHES_PER_USER) {
      await this.col.deleteOne({ _id: doc._id });
      throw new ProxyError('SAVED_SEARCH_LIMIT', `${SAVED_SEARCHES_PER_USER} per user`);
    }
    return view(doc);
  }

  /** Deletes one: the owner's own, or any for an admin. Returns what was deleted (for the audit entry). */
  async remove(id: string, by: { username: string; admin: boolean }): Promise<SavedSearchView> {
    if (!ObjectId.isValid(id) || id.length !== 24) throw new ProxyError('NOT_FOUND', `saved search ${id}`);
    const filter = by.admin ? { _id: new ObjectId(id) } : { _id: new ObjectId(id), owner: by.username };
    const doc = await this.col.findOneAndDelete(filter);
    if (!doc) throw new ProxyError('NOT_FOUND', `saved search ${id}`);
    return view(doc);
  }
}
