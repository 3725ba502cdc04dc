import type { Db, Document, FindCursor } from 'mongodb';
import { buildListQuery, type BuiltQuery } from './build.js';
import { visible } from './visible.js';
import { encodeCursor, type CursorValue } from './cursor.js';
import type { NameResolver } from './names.js';
import { partyConditions } from './parties.js';
import { enrichRows, toRow, type Row } from './rows.js';
import type { ListQuery, ListTypeDef } from './types.js';

const EXPORT_BATCH = 200;

/** Server-side time limits (maxTimeMS) of portal queries: one expensive search must not hold the replica set. */
export interface QueryTimeouts {
  /** A list page, a search, a detail: config `portal.queryTimeoutMs`. */
  queryMs: number;
  /** A whole streamed export (CSV/JSON/ZIP), server time summed over its batches: `portal.exportTimeoutMs`. */
  exportMs: number;
}

export const DEFAULT_QUERY_TIMEOUTS: QueryTimeouts = { queryMs: 15_000, exportMs: 600_000 };

/** Hard caps that keep one request's memory bounded whatever the data size (tests make them small). */
export interface QueryLimits {
  /** Ids one search resolves into a `$in` (files of a party's calls, a person's rooms); beyond: 400 QUERY_TOO_BROAD. */
  maxIds: number;
  /** Records one case export may hold (counted when it is prepared); beyond: 400 EXPORT_TOO_LARGE. */
  maxExportEntries: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxIds: 20_000, maxExportEntries: 50_000 };

/** The value at a dotted path of a stored document (e.g. `_retention.callAt`), null when absent. */
export function valueAt(doc: Document, path: string): CursorValue {
  let v: unknown = doc;
  for (const key of path.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  if (v === undefined || v === null) return null;
  if (v instanceof Date || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return JSON.stringify(v);
}

/** Lists, pages and exports of the record collections. */
export class ListService {
  constructor(private readonly db: Db, private readonly names: NameResolver, readonly timeouts: QueryTimeouts = DEFAULT_QUERY_TIMEOUTS, readonly limits: QueryLimits = DEFAULT_QUERY_LIMITS) {}

  /**
   * A list's filter and sort exactly as its list route applies them: the list's own parameters plus what they
   * resolve to elsewhere (calls: the ids of parties named like `q`; voicemails and recordings: the files of the
   * parties' calls and conferences). The one filter path of lists, their exports and case exports of a list.
   */
  async filter(def: ListTypeDef, query: ListQuery): Promise<BuiltQuery> {
    // Calls are also found by the names of their parties: the matching staff/contact ids join the `q` alternatives.
    const extra: Document[] = [];
    if (def.name === 'calls' && typeof query.q === 'string' && query.q !== '') {
      const ids = await this.names.idsNamed(query.q, undefined, this.timeouts.queryMs);
      if (ids.length > 0) extra.push({ 'from.id': { $in: ids } }, { 'to.id': { $in: ids } });
    }
    // Voicemails and recordings: by the parties of their call or conference (names and numbers for `q`).
    const parties = await partyConditions(this.db, this.names, def, query, this.timeouts.queryMs, this.limits.maxIds);
    return buildListQuery(def, query, [...extra, ...parties.text], parties.and);
  }

  private async find(def: ListTypeDef, query: ListQuery, maxTimeMs = this.timeouts.queryMs): Promise<{ cursor: FindCursor<Document>; sortField: string; sortPath: string; order: 'asc' | 'desc' }> {
    const built = await this.filter(def, query);
    return { cursor: this.db.collection(def.collection).find(built.filter, { maxTimeMS: maxTimeMs }).sort(built.sort), sortField: built.sortField, sortPath: built.sortPath, order: built.order };
  }

  /** One page, keyset-paginated on (sortField, _id). */
  async list(def: ListTypeDef, query: ListQuery): Promise<{ items: Row[]; nextCursor: string | null }> {
    const limit = typeof query.limit === 'number' ? query.limit : 50;
    const { cursor, sortField, sortPath, order } = await this.find(def, query);
    const docs = await cursor.limit(limit + 1).toArray();
    const more = docs.length > limit;
    const page = more ? docs.slice(0, limit) : docs;
    const last = page[page.length - 1];
    const nextCursor = more && last ? encodeCursor({ field: sortField, order, value: valueAt(last, sortPath), id: last._id as string }) : null;
    return { items: await enrichRows(this.db, this.names, def, page.map((d) => toRow(def, d)), this.timeouts.queryMs), nextCursor };
  }

  /** Every matching row, enriched in batches, for streaming exports (memory bounded by the batch). */
  async *rows(def: ListTypeDef, query: ListQuery): AsyncGenerator<Row> {
    const { cursor } = await this.find(def, { ...query, cursor: undefined, limit: undefined }, this.timeouts.exportMs);
    let batch: Row[] = [];
    try {
      for await (const doc of cursor.batchSize(EXPORT_BATCH)) {
        batch.push(toRow(def, doc));
        if (batch.length >= EXPORT_BATCH) {
          yield* await enrichRows(this.db, this.names, def, batch, this.timeouts.queryMs);
          batch = [];
        }
      }
      if (batch.length > 0) yield* await enrichRows(this.db, this.names, def, batch, this.timeouts.queryMs);
    } finally {
      await cursor.close();
    }
  }

  /** The stored document by business id (with `_retention`), or null (also when it is archived). */
  findDoc(def: ListTypeDef, id: string): Promise<Document | null> {
    return this.db.collection(def.collection).findOne({ $and: [...(def.base ? [def.base] : []), { [def.idField]: id }, visible()] }, { maxTimeMS: this.timeouts.queryMs });
  }

  async enrich(def: ListTypeDef, rows: Row[]): Promise<Row[]> {
    return enrichRows(this.db, this.names, def, rows, this.timeouts.queryMs);
  }
}
