/**
 * `Content-Disposition` for a file name of any script (RFC 6266 with RFC 5987/8187 `filename*`): an ASCII-only
 * `filename="..."` fallback plus `filename*=UTF-8''<percent-encoded>`. A raw non-Latin-1 name in a header makes
 * Node refuse the response (ERR_INVALID_CHAR), and a raw quote or control character could split the parameter.
 */
export function contentDisposition(kind: 'attachment' | 'inline', fileName: string): string {
  const name = cleanName(fileName);
  const fallback = asciiFallback(name);
  const encoded = encodeRfc5987(name);
  return fallback === name ? `${kind}; filename="${fallback}"` : `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/**
 * No control characters, no path separators, no lone surrogates (vendor JSON may carry them; encodeURIComponent
 * throws on them), never empty; at most 200 characters, cut between code points so no surrogate pair is split.
 */
function cleanName(name: string): string {
  const cleaned = [...name].map((c) => {
    const code = c.codePointAt(0) ?? 0;
    const bad = code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || (code >= 0xd800 && code <= 0xdfff) || c === '/' || c === '\\';
    return bad ? '_' : c;
  }).join('').trim();
  return cleaned === '' ? 'file' : [...cleaned].slice(0, 200).join('');
}

/** Printable ASCII without `"`, `\` and `%` (some clients decode it); every other character becomes `_`. */
export function asciiFallback(name: string): string {
  return [...name].map((c) => {
    const code = c.codePointAt(0) ?? 0;
    return code >= 0x20 && code < 0x7f && c !== '"' && c !== '\\' && c !== '%' ? c : '_';
  }).join('');
}

/** RFC 5987 `value-chars`: UTF-8, every byte outside attr-char percent-encoded. */
export function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()}`);
}
