import { Readable } from 'node:stream';

/** Text of one value in a CSV cell: dates as ISO-8601 UTC, arrays and objects as JSON, null/undefined empty. */
export function cellText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/**
 * RFC 4180 quoting: a field containing a comma, quote, CR or LF is quoted with inner quotes doubled. A field that
 * a spreadsheet would run as a formula (= + - @, tab, CR first) gets a leading apostrophe (CSV injection).
 */
export function csvField(v: unknown): string {
  let s = cellText(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^[-+]?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** The value at a dotted path (`customer.name`). */
export function valueAtPath(row: Record<string, unknown>, path: string): unknown {
  let v: unknown = row;
  for (const key of path.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/** A CSV stream (header row, then one line per row), pulled from `rows` with backpressure. */
export function csvStream(columns: readonly string[], rows: AsyncIterable<Record<string, unknown>>): Readable {
  async function* lines(): AsyncGenerator<string> {
    yield csvLine(columns);
    for await (const row of rows) yield csvLine(columns.map((c) => valueAtPath(row, c)));
  }
  return Readable.from(lines(), { objectMode: false });
}

/** A JSON array stream, one element per row, pulled with backpressure. */
export function jsonArrayStream(rows: AsyncIterable<unknown>): Readable {
  async function* parts(): AsyncGenerator<string> {
    yield '[';
    let first = true;
    for await (const row of rows) {
      yield `${first ? '\n' : ',\n'}${JSON.stringify(row)}`;
      first = false;
    }
    yield first ? ']\n' : '\n]\n';
  }
  return Readable.from(parts(), { objectMode: false });
}
