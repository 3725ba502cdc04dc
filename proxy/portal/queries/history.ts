import { BSON, type Db, type Document } from 'mongodb';
import { RETENTION_FIELD, type RetentionStamp } from '../../importer/index.js';
import { newerFirst } from '../../importer/identity.js';
import type { ListTypeDef } from './types.js';
import { unarchived } from './visible.js';

/** At most this many versions of one record are shown (one per archive that delivered it under its own `_id`). */
export const HISTORY_LIMIT = 200;

export interface FieldChange { field: string; from: unknown; to: unknown }

export interface HistoryVersion {
  /** The stored `_id` of this version (hex for an ObjectId). */
  recordId: string;
  /** Where this version came from: the `_retention` stamp of the archive that delivered it. */
  provenance: Omit<RetentionStamp, 'superseded'> | null;
  /** The version lists and searches show: the newest one retention has not archived (the first). */
  current: boolean;
  /** What differs from the next older version (top-level fields, `_id` and the proxy's fields aside); [] for the oldest. */
  changes: FieldChange[];
}

const PROXY_FIELDS = new Set(['_id', RETENTION_FIELD, '_archived']);

function idText(id: unknown): string {
  return id instanceof BSON.ObjectId ? id.toHexString() : String(id);
}

function same(a: unknown, b: unknown): boolean {
  return BSON.EJSON.stringify({ v: a }, { relaxed: false }) === BSON.EJSON.stringify({ v: b }, { relaxed: false });
}

/** Field-level difference between two stored versions (absent fields are `null` on their side). */
export function diffVersions(older: Document, newer: Document): FieldChange[] {
  const fields = [...new Set([...Object.keys(older), ...Object.keys(newer)])].filter((f) => !PROXY_FIELDS.has(f));
  return fields.filter((f) => !same(older[f], newer[f])).map((f): FieldChange => ({ field: f, from: (older[f] as unknown) ?? null, to: (newer[f] as unknown) ?? null }));
}

function stampOf(doc: Document): HistoryVersion['provenance'] {
  const s = doc[RETENTION_FIELD] as (RetentionStamp & { superseded?: unknown }) | undefined;
  if (!s) return null;
  const { superseded: _s, ...rest } = s;
  return rest;
}

const versionKey = (d: Document): { _id: unknown; at: number; archive: string } => {
  const s = (d[RETENTION_FIELD] ?? {}) as { createdAt?: unknown; archive?: unknown };
  return { _id: d._id, at: s.createdAt instanceof Date ? s.createdAt.getTime() : 0, archive: typeof s.archive === 'string' ? s.archive : '' };
};

/**
 * Every stored, unarchived version of one business id, newest first, each with what changed from the one before it
 * and the archive it came from. One indexed query (the business id), bounded by HISTORY_LIMIT.
 */
export async function recordHistory(db: Db, def: ListTypeDef, id: string, maxTimeMS: number): Promise<HistoryVersion[]> {
  const docs = await db.collection(def.collection).find(unarchived({ [def.idField]: id }), { maxTimeMS })
    .sort({ [`${RETENTION_FIELD}.createdAt`]: -1, [`${RETENTION_FIELD}.archive`]: -1, _id: -1 })
    .limit(HISTORY_LIMIT).toArray();
  docs.sort((a, b) => newerFirst(versionKey(a), versionKey(b)));
  return docs.map((doc, i) => {
    const older = docs[i + 1];
    return {
      recordId: idText(doc._id),
      provenance: stampOf(doc),
      current: i === 0,
      changes: older ? diffVersions(older, doc) : [],
    };
  });
}
