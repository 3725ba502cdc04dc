import { describe, expect, it } from 'vitest';
import { JsonArraySplitter, JsonSplitError } from '../../../proxy/importer/json-array-splitter.js';

/** Feeds `input` in pieces of `size` bytes and returns every element text. */
function split(input: string | Buffer, size = Number.MAX_SAFE_INTEGER): string[] {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const s = new JsonArraySplitter();
  const out: string[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(...s.push(buf.subarray(i, Math.min(buf.length, i + size))));
  s.end();
  return out;
}

function splitError(input: string): JsonSplitError {
  try {
    split(input);
  } catch (err) {
    if (err instanceof JsonSplitError) return err;
    throw err;
  }
  throw new Error('expected a JsonSplitError');
}

describe('JsonArraySplitter', () => {
  it('splits a compact array of documents', () => {
    expect(split('[{"a":1},{"b":2}]')).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('splits a pretty-printed array with CRLF line ends', () => {
    const text = '[\r\n  {\r\n    "a": 1,\r\n    "n": {"x": [1, 2]}\r\n  },\r\n  {\r\n    "b": 2\r\n  }\r\n]\r\n';
    expect(split(text).map((t) => JSON.parse(t) as unknown)).toEqual([{ a: 1, n: { x: [1, 2] } }, { b: 2 }]);
  });

  it('ignores brackets, braces and commas inside strings', () => {
    const docs = [{ s: '}]{[,' }, { s: 'a "quoted" } word' }, { s: 'back\\slash\\' }, { s: '\\"' }];
    const text = JSON.stringify(docs);
    expect(split(text).map((t) => JSON.parse(t) as unknown)).toEqual(docs);
  });

  it('handles escaped quotes and backslashes split across every chunk boundary', () => {
    const docs = [{ s: 'x\\"]}' }, { s: '\\\\' }, { t: '"' }];
    const text = JSON.stringify(docs);
    for (let size = 1; size <= 7; size++) {
      expect(split(text, size).map((t) => JSON.parse(t) as unknown)).toEqual(docs);
    }
  });

  it('decodes multi-byte UTF-8 characters cut by a chunk boundary', () => {
    const docs = [{ s: 'héllo wörld ✓ 😀 日本語' }, { s: '€' }];
    const text = JSON.stringify(docs);
    for (const size of [1, 2, 3, 5]) {
      expect(split(text, size).map((t) => JSON.parse(t) as unknown)).toEqual(docs);
    }
  });

  it('accepts an empty array, a UTF-8 BOM and surrounding whitespace', () => {
    expect(split('  [ ]  \n')).toEqual([]);
    expect(split(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[{"a":1}]')]))).toEqual(['{"a":1}']);
  });

  it('returns scalar elements too (the record layer rejects them)', () => {
    expect(split('[1, "x", true, null]')).toEqual(['1', '"x"', 'true', 'null']);
  });

  it('counts elements for error positions', () => {
    expect(splitError('[{"a":1},{"b":2} {"c":3}]').element).toBe(2);
    expect(splitError('[{"a":1},{"b":').element).toBe(2);
  });

  it('rejects a trailing comma, a leading comma, content after the array and an unterminated array', () => {
    expect(splitError('[{"a":1},]').message).toMatch(/trailing comma/);
    expect(splitError('[,{"a":1}]')).toBeInstanceOf(JsonSplitError);
    expect(splitError('[{"a":1}] x')).toBeInstanceOf(JsonSplitError);
    expect(splitError('[{"a":1}')).toBeInstanceOf(JsonSplitError);
    expect(splitError('{"a":1}')).toBeInstanceOf(JsonSplitError);
  });

  it('holds only the current element, not the whole input', () => {
    const s = new JsonArraySplitter();
    let total = 0;
    s.push(Buffer.from('['));
    for (let i = 0; i < 10_000; i++) total += s.push(Buffer.from(`${i ? ',' : ''}{"i":${i},"pad":"${'x'.repeat(100)}"}`)).length;
    s.push(Buffer.from(']'));
    s.end();
    expect(total).toBe(10_000);
    expect(s.count).toBe(10_000);
  });
});
