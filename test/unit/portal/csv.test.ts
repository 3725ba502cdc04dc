import { describe, expect, it } from 'vitest';
import { cellText, csvField, csvLine, csvStream, jsonArrayStream } from '../../../proxy/portal/export/csv.js';

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of stream) out += typeof c === 'string' ? c : (c).toString('utf8');
  return out;
}

async function* rows<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield await Promise.resolve(i);
}

describe('CSV', () => {
  it('quotes per RFC 4180 only when needed, doubling inner quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
    expect(csvLine(['a', 'b,c', ''])).toBe('a,"b,c",\r\n');
  });

  it('writes dates as ISO UTC, arrays and objects as JSON, null and undefined as empty', () => {
    expect(cellText(new Date(Date.UTC(2026, 2, 1, 2)))).toBe('2026-03-01T02:00:00.000Z');
    expect(csvField(['vip', 'refund'])).toBe('"[""vip"",""refund""]"');
    expect(cellText(null)).toBe('');
    expect(cellText(undefined)).toBe('');
    expect(cellText(0)).toBe('0');
    expect(cellText(false)).toBe('false');
  });

  it('defuses spreadsheet formulas but keeps numbers and phone numbers usable', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('-5')).toBe('-5');
    expect(csvField('+85291234567')).toBe('+85291234567');
    expect(csvField('+1 555')).toBe("'+1 555");
  });

  it('streams a header and one line per row from nested paths', async () => {
    const out = await text(csvStream(['id', 'customer.name', 'tags'], rows([{ id: '1', customer: { name: 'Ben, Jr.' }, tags: [] }, { id: '2' }])));
    expect(out).toBe('id,customer.name,tags\r\n1,"Ben, Jr.",[]\r\n2,,\r\n');
  });

  it('streams a JSON array, empty or not', async () => {
    expect(JSON.parse(await text(jsonArrayStream(rows([]))))).toEqual([]);
    expect(JSON.parse(await text(jsonArrayStream(rows([{ a: 1 }, { b: new Date(0) }]))))).toEqual([{ a: 1 }, { b: '1970-01-01T00:00:00.000Z' }]);
  });
});
