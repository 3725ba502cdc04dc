import { createReadStream } from 'node:fs';
import { ProxyError } from '../errors.js';
import type { FileDigest } from './file-digest.js';
import { JsonArraySplitter, JsonSplitError, isJsonWhitespace } from './json-array-splitter.js';
import { LineSplitter } from './line-splitter.js';

/**
 * Reads a record file as a stream of record texts, in batches of whatever one read chunk holds, without ever holding
 * the whole file. The format is detected from the first non-space byte: '[' -> one JSON array (mongoexport
 * --jsonArray, maybe pretty-printed), '{' -> one document per line (blank lines allowed), nothing -> empty file.
 */

export type RecordPositionKind = 'line' | 'element';

export interface RecordText {
  readonly text: string;
  /** Line number (line files) or 1-based element number (array files). */
  readonly n: number;
}

export interface RecordBatch {
  readonly kind: RecordPositionKind;
  readonly records: readonly RecordText[];
}

const READ_CHUNK = 1 << 20;

/** Yields the records of `file` (`entryPath` names it in errors); every byte read also goes to `digest` when given. */
export async function* readRecordTexts(
  file: string,
  entryPath: string,
  digest?: FileDigest,
  signal?: AbortSignal,
): AsyncGenerator<RecordBatch, void, undefined> {
  let size = 0;
  let splitter: JsonArraySplitter | LineSplitter | undefined;
  let kind: RecordPositionKind = 'line';
  let leading: Buffer[] = []; // whitespace-only chunks before the first significant byte (keeps line numbers right)
  const stream = createReadStream(file, { highWaterMark: READ_CHUNK, ...(signal ? { signal } : {}) });
  try {
    for await (const raw of stream) {
      const chunk = raw as Buffer;
      size += chunk.length;
      digest?.update(chunk);
      if (splitter === undefined) {
        const first = firstSignificantByte(chunk, size === chunk.length);
        if (first === undefined) {
          leading.push(chunk);
          continue;
        }
        if (first === 0x5b) {
          splitter = new JsonArraySplitter();
          kind = 'element';
        } else if (first === 0x7b) {
          splitter = new LineSplitter();
          kind = 'line';
        } else {
          throw invalid(entryPath, `a record file must start with '[' (JSON array) or '{' (one document per line), found byte 0x${first.toString(16)}`, {});
        }
      }
      if (leading.length > 0) {
        for (const ws of leading) pushChunk(splitter, ws, entryPath);
        leading = [];
      }
      const records = pushChunk(splitter, chunk, entryPath);
      if (records.length > 0) yield { kind, records };
    }
    if (splitter instanceof LineSplitter) {
      const last = splitter.end();
      if (last.length > 0) yield { kind, records: last.map(({ text, line }) => ({ text, n: line })) };
    } else if (splitter instanceof JsonArraySplitter) {
      try {
        splitter.end();
      } catch (err) {
        throw splitError(err, entryPath);
      }
    }
  } finally {
    stream.destroy();
  }
}

function pushChunk(splitter: JsonArraySplitter | LineSplitter, chunk: Buffer, entryPath: string): RecordText[] {
  if (splitter instanceof LineSplitter) return splitter.push(chunk).map(({ text, line }) => ({ text, n: line }));
  const before = splitter.count;
  let texts: string[];
  try {
    texts = splitter.push(chunk);
  } catch (err) {
    throw splitError(err, entryPath);
  }
  return texts.map((text, i) => ({ text, n: before + i + 1 }));
}

/** First byte that is neither JSON whitespace nor part of a UTF-8 byte order mark. */
function firstSignificantByte(chunk: Buffer, firstChunk: boolean): number | undefined {
  const bom = firstChunk && chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf;
  for (let i = bom ? 3 : 0; i < chunk.length; i++) {
    const b = chunk[i] as number;
    if (!isJsonWhitespace(b)) return b;
  }
  return undefined;
}

function splitError(err: unknown, entryPath: string): unknown {
  if (err instanceof JsonSplitError) return invalid(entryPath, err.message, { element: err.element }, err);
  return err;
}

export function invalid(entryPath: string, why: string, where: { line?: number; element?: number }, cause?: unknown): ProxyError {
  const at = where.line !== undefined ? ` line ${where.line}` : where.element !== undefined ? ` element ${where.element}` : '';
  return new ProxyError('RECORD_INVALID', `${entryPath}${at}: ${why}`, {
    details: { file: entryPath, ...where },
    ...(cause === undefined ? {} : { cause }),
  });
}
