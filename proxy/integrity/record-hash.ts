import { BSON, type Document } from 'mongodb';
import { RETENTION_FIELD, recordSha256 } from '../importer/index.js';

/** Fields the proxy adds to a stored record; they are not part of the vendor's content and not hashed. */
export const ARCHIVED_FIELD = '_archived';
export const PROXY_OWNED_FIELDS: readonly string[] = [RETENTION_FIELD, ARCHIVED_FIELD];

/** Read options that keep every stored BSON type as it is (Int32 vs Int64 vs Double, regular expressions). */
export const EXACT_READ = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;

export interface RecordHashResult {
  /** `_retention.sha256`, or undefined when the record carries no provenance stamp. */
  recorded: string | undefined;
  computed: string;
}

/**
 * Recomputes a stored record's hash by the importer's definition (docs/archive-format.md, "Record hash"): the stored
 * document without the proxy-owned fields, and without `_id` when the importer made it (a record delivered without
 * `_id` gets `_id` = its sha256), as canonical Extended JSON with `_id` first. `doc` must be read with EXACT_READ.
 */
export function storedRecordHash(doc: Document): RecordHashResult {
  const stamp: unknown = doc[RETENTION_FIELD];
  const recorded = recordedSha256(stamp);
  const content: Document = {};
  for (const key of Object.keys(doc)) {
    if (PROXY_OWNED_FIELDS.includes(key)) continue;
    if (key === '_id' && recorded !== undefined && doc._id === recorded) continue;
    setOwn(content, key, doc[key]);
  }
  return { recorded, computed: recordSha256(content) };
}

/**
 * Sets `key` as an own enumerable property, also for `__proto__` (a plain assignment would set the prototype and the
 * field would silently drop out of the hashed text; BSON returns `__proto__` as an ordinary field).
 */
export function setOwn(target: Document, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function recordedSha256(stamp: unknown): string | undefined {
  if (typeof stamp !== 'object' || stamp === null) return undefined;
  const sha: unknown = (stamp as Record<string, unknown>).sha256;
  return typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined;
}

/** A record `_id` as text for reports and tombstone keys: its canonical Extended JSON. */
export function idText(id: unknown): string {
  return BSON.EJSON.stringify(id, { relaxed: false });
}
