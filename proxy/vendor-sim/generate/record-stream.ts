import { Readable } from 'node:stream';
import { BSON } from 'mongodb';
import type { RecordLayout } from './plan.js';

const BATCH_BYTES = 64 * 1024;

/** One document as canonical Extended JSON (types survive the round trip: Int32, Int64, Date, ObjectId). */
export function toCanonicalEjson(doc: object): string {
  return BSON.EJSON.stringify(doc, { relaxed: false });
}

/**
 * Streams documents as a record file: `lines` writes one canonical EJSON document per line, `array` writes one JSON
 * array (`[\n doc,\n doc\n]\n`). Documents are produced on demand, so memory does not grow with the number of records.
 * `onCount` receives the number of documents once the last one was written.
 */
export function recordFileStream(docs: Iterable<object>, layout: RecordLayout, onCount?: (count: number) => void): Readable {
  function* chunks(): Generator<string> {
    let batch = layout === 'array' ? '[\n' : '';
    let count = 0;
    for (const doc of docs) {
      const text = toCanonicalEjson(doc);
      batch += layout === 'array' ? (count === 0 ? text : `,\n${text}`) : `${text}\n`;
      count++;
      if (batch.length >= BATCH_BYTES) {
        yield batch;
        batch = '';
      }
    }
    if (layout === 'array') batch += count === 0 ? ']\n' : '\n]\n';
    if (batch.length > 0) yield batch;
    onCount?.(count);
  }
  return Readable.from(chunks(), { objectMode: false });
}
