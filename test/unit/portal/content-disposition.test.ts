import { describe, expect, it } from 'vitest';
import { contentDisposition } from '../../../proxy/portal/http/content-disposition.js';

/** A value Node accepts as a header (a real socket refuses anything else with ERR_INVALID_CHAR). */
function headerSafe(value: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
}

describe('contentDisposition', () => {
  it('a non-Latin-1 name goes into filename* (RFC 5987), with an ASCII fallback', () => {
    const v = contentDisposition('attachment', '報告.pdf');
    expect(v).toBe(`attachment; filename="__.pdf"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf`);
    expect(headerSafe(v)).toBe(true);
  });

  it('cutting a long name at 200 characters never splits a surrogate pair', () => {
    const name = `${'a'.repeat(199)}😀😀.txt`;
    const v = contentDisposition('attachment', name);
    expect(headerSafe(v)).toBe(true);
    const star = /filename\*=UTF-8''(.*)$/.exec(v)?.[1] ?? '';
    expect(decodeURIComponent(star)).toBe(`${'a'.repeat(199)}😀`);
  });

  it('lone surrogates (vendor JSON) become "_" instead of throwing', () => {
    for (const name of ['bad\uD800.png', '\uDC00start.jpg', 'x\uDBFF']) {
      let v = '';
      expect(() => { v = contentDisposition('inline', name); }).not.toThrow();
      expect(headerSafe(v)).toBe(true);
      const star = /filename\*=UTF-8''(.*)$/.exec(v)?.[1];
      expect(star === undefined ? v : decodeURIComponent(star)).toContain('_');
    }
  });

  it('quotes, backslashes, control characters and separators cannot break the header', () => {
    const v = contentDisposition('attachment', 'a"b\\c/d\r\ne.txt');
    expect(headerSafe(v)).toBe(true);
    expect(v).not.toMatch(/[\r\n]/);
  });
});
