/** A satisfiable byte range, `end` inclusive (as in Content-Range). */
export interface ByteRange { start: number; end: number }

/**
 * Parses a `Range` header against a resource of `size` bytes (RFC 9110 §14.1.2). Returns undefined to serve the
 * whole resource (no header, another unit, several ranges, or a syntax error: all may be ignored), 'unsatisfiable'
 * for a 416, else the single range.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header.trim());
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  if (!Number.isSafeInteger(start)) return 'unsatisfiable';
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return undefined;
  return { start, end };
}
