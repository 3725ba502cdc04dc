import { createHash } from 'node:crypto';
import { BSON, type Document } from 'mongodb';
import { invalid, type RecordPositionKind } from './record-reader.js';

/** What the importer adds to every record: where it came from, and a hash of its content. Deterministic. */
export interface RetentionStamp {
  jobId: string;
  /** Archive file name, `backup_{serviceId}_{jobId}_{yyyymmddhhmmss}.zip`. */
  archive: string;
  /** Path of the record file inside the archive. */
  entry: string;
  /** Hex sha256 of the record's canonical Extended JSON text, `EJSON.stringify(record, { relaxed: false })`. */
  sha256: string;
}

export const RETENTION_FIELD = '_retention';
/** Top-level names the proxy writes itself (import stamp, retention archive mark): a delivered record may not set them. */
export const RESERVED_FIELDS: ReadonlySet<string> = new Set([RETENTION_FIELD, '_archived']);
const MAX_BSON_SIZE = 16 * 1024 * 1024;

/**
 * Parses one record (canonical or relaxed Extended JSON). Types are kept exactly: `{"$numberLong": "7"}` stays an
 * int64, `1.0` in canonical form stays a double. Throws RECORD_INVALID naming the file and the line/element.
 */
export function parseRecord(text: string, entryPath: string, kind: RecordPositionKind, n: number): Document {
  let value: unknown;
  try {
    value = BSON.EJSON.parse(text, { relaxed: false });
  } catch (err) {
    throw invalid(entryPath, `not valid Extended JSON (${(err as Error).message})`, where(kind, n), err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(entryPath, 'a record must be a JSON object', where(kind, n));
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw invalid(entryPath, 'a record must be a document, not a single Extended JSON value', where(kind, n));
  }
  const doc = value as Document;
  for (const key in doc) {
    if (key.startsWith('$')) throw invalid(entryPath, `top-level field name '${key}' starts with '$'`, where(kind, n));
    if (RESERVED_FIELDS.has(key)) throw invalid(entryPath, `field '${key}' is reserved by the proxy`, where(kind, n));
  }
  const id: unknown = doc._id;
  if (Array.isArray(id) || id instanceof RegExp || id instanceof BSON.BSONRegExp) {
    throw invalid(entryPath, '_id cannot be an array or a regular expression', where(kind, n));
  }
  // Cheap guard first: only a very long text can become a document over the server's 16 MiB limit.
  if (text.length > MAX_BSON_SIZE / 2 && BSON.calculateObjectSize(doc) > MAX_BSON_SIZE - 64 * 1024) {
    throw invalid(entryPath, 'record is larger than the 16 MiB document limit', where(kind, n));
  }
  return doc;
}

/** Hex sha256 of the canonical Extended JSON text of a parsed record. */
export function recordSha256(doc: Document): string {
  return createHash('sha256').update(BSON.EJSON.stringify(doc, { relaxed: false })).digest('hex');
}

/**
 * The document stored for a record: the vendor's fields unchanged plus `_retention`. A record without `_id` gets
 * `_id` = its sha256 (content-addressed, so re-importing it never creates a duplicate).
 */
export function stampRecord(doc: Document, job: { jobId: string; archive: string }, entryPath: string): Document {
  const sha256 = recordSha256(doc);
  const stamp: RetentionStamp = { jobId: job.jobId, archive: job.archive, entry: entryPath, sha256 };
  if (doc._id === undefined) return { _id: sha256, ...doc, [RETENTION_FIELD]: stamp };
  doc[RETENTION_FIELD] = stamp;
  return doc;
}

function where(kind: RecordPositionKind, n: number): { line: number } | { element: number } {
  return kind === 'line' ? { line: n } : { element: n };
}
