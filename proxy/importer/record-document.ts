import { createHash } from 'node:crypto';
import { BSON, type Document } from 'mongodb';
import { requireArchiveName } from '../archive/archive-name.js';
import { invalid, type RecordPositionKind } from './record-reader.js';

/** What the importer adds to every record: where it came from, and a hash of its content. Deterministic. */
export interface RetentionStamp {
  jobId: string;
  /** Archive file name, `backup_{serviceId}_{jobId}_{yyyymmddhhmmss}.zip`. */
  archive: string;
  /**
   * The archive's timestamp (from its name, UTC). A record delivered again is replaced only by a delivery from a newer
   * archive (see upsert-batch.ts): the newest delivery wins whatever the order of the imports.
   */
  createdAt: Date;
  /** Path of the record file inside the archive. */
  entry: string;
  /**
   * Hex sha256 of the record's canonical Extended JSON text, `EJSON.stringify(record, { relaxed: false })`, with `_id`
   * first (where the server stores it), so it can be recomputed from the stored document (proxy/integrity/).
   */
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

/**
 * The text a record's hash is taken over: canonical Extended JSON v2 without whitespace, keys in the order they are
 * stored, i.e. `_id` first (MongoDB and FerretDB move it there) and the rest as delivered. docs/archive-format.md.
 */
export function recordCanonicalText(doc: Document): string {
  if (!Object.prototype.hasOwnProperty.call(doc, '_id')) return ejson(doc);
  // Built as text: a JS object would still list integer-like keys ("7") before `_id`.
  const { _id: id, ...rest } = doc;
  const head = `"_id":${ejson(id)}`;
  const tail = ejson(rest);
  return tail === '{}' ? `{${head}}` : `{${head},${tail.slice(1)}`;
}

/** Hex sha256 of the canonical Extended JSON text of a parsed record (recordCanonicalText). */
export function recordSha256(doc: Document): string {
  return createHash('sha256').update(recordCanonicalText(doc)).digest('hex');
}

function ejson(value: unknown): string {
  return BSON.EJSON.stringify(value, { relaxed: false });
}

/**
 * The document stored for a record: the vendor's fields unchanged plus `_retention`. A record without `_id` gets
 * `_id` = its sha256 (content-addressed, so re-importing it never creates a duplicate).
 */
export function stampRecord(doc: Document, job: { jobId: string; archive: string }, entryPath: string): Document {
  const sha256 = recordSha256(doc);
  const stamp: RetentionStamp = { jobId: job.jobId, archive: job.archive, createdAt: archiveCreatedAt(job.archive), entry: entryPath, sha256 };
  if (doc._id === undefined) return { _id: sha256, ...doc, [RETENTION_FIELD]: stamp };
  doc[RETENTION_FIELD] = stamp;
  return doc;
}

let lastArchive: { name: string; createdAt: Date } | undefined;

/** The timestamp in an archive name (ARCHIVE_NAME_INVALID if it has none); remembered for the archive being imported. */
function archiveCreatedAt(archive: string): Date {
  if (lastArchive?.name !== archive) lastArchive = { name: archive, createdAt: requireArchiveName(archive).createdAt };
  // A fresh Date per record: a stamp shared between documents must not be mutable from one of them.
  return new Date(lastArchive.createdAt.getTime());
}

function where(kind: RecordPositionKind, n: number): { line: number } | { element: number } {
  return kind === 'line' ? { line: n } : { element: n };
}
