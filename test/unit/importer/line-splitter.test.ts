import { describe, expect, it } from 'vitest';
import { LineSplitter, type Line } from '../../../proxy/importer/line-splitter.js';

function lines(input: string | Buffer, size = Number.MAX_SAFE_INTEGER): Line[] {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const s = new LineSplitter();
  const out: Line[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(...s.push(buf.subarray(i, Math.min(buf.length, i + size))));
  out.push(...s.end());
  return out;
}

describe('LineSplitter', () => {
  it('splits LF lines and numbers them from 1', () => {
    expect(lines('{"a":1}\n{"b":2}\n')).toEqual([
      { text: '{"a":1}', line: 1 },
      { text: '{"b":2}', line: 2 },
    ]);
  });

  it('strips CR of CRLF endings and keeps line numbers across blank lines', () => {
    expect(lines('{"a":1}\r\n\r\n   \r\n{"b":"x\\r"}\r\n')).toEqual([
      { text: '{"a":1}', line: 1 },
      { text: '{"b":"x\\r"}', line: 4 },
    ]);
  });

  it('returns a last line without a final newline', () => {
    expect(lines('{"a":1}\n{"b":2}')).toEqual([
      { text: '{"a":1}', line: 1 },
      { text: '{"b":2}', line: 2 },
    ]);
  });

  it('keeps brackets and escaped quotes inside a line untouched', () => {
    const doc = '{"s":"[a] {b} \\"q\\" , \\\\"}';
    expect(lines(`${doc}\n`).map((l) => JSON.parse(l.text) as unknown)).toEqual([{ s: '[a] {b} "q" , \\' }]);
  });

  it('decodes multi-byte characters split by chunk boundaries, with CRLF split too', () => {
    const text = '{"s":"日本語 ✓ 😀"}\r\n{"s":"é"}\r\n';
    for (const size of [1, 2, 3, 4]) {
      expect(lines(text, size).map((l) => l.text)).toEqual(['{"s":"日本語 ✓ 😀"}', '{"s":"é"}']);
    }
  });

  it('skips a UTF-8 byte order mark', () => {
    expect(lines(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}\n')]))).toEqual([{ text: '{"a":1}', line: 1 }]);
  });

  it('returns nothing for empty and whitespace-only input', () => {
    expect(lines('')).toEqual([]);
    expect(lines('\n\n  \r\n')).toEqual([]);
  });
});
