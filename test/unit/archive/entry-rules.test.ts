import { describe, it, expect } from 'vitest';
import { NameRegistry, checkNoOverlap, isSymlinkAttributes, normalizeEntryName } from '../../../proxy/archive/entry-rules.js';
import { AesCtrLittleEndian } from '../../../proxy/archive/winzip-aes.js';
import { ZipCryptoKeys } from '../../../proxy/archive/zipcrypto.js';
import { isProxyError, type ErrorCode } from '../../../proxy/errors.js';

function codeOf(fn: () => unknown): ErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (isProxyError(err)) return err.code;
    throw err;
  }
}

describe('normalizeEntryName', () => {
  it('normalizes separators, ./ and empty segments', () => {
    expect(normalizeEntryName('./a//b/./c.json')).toEqual({ path: 'a/b/c.json', isDirectory: false });
    expect(normalizeEntryName('a\\b\\c.json')).toEqual({ path: 'a/b/c.json', isDirectory: false });
    expect(normalizeEntryName('dir/sub/')).toEqual({ path: 'dir/sub', isDirectory: true });
  });

  it('refuses every escaping form with ARCHIVE_PATH_TRAVERSAL', () => {
    for (const name of ['../x', '/etc/passwd', 'C:\\x', 'c:x', 'a/../../x', '..\\x', 'a/b/..', '\\\\server\\share', 'x\0y', '', './']) {
      const expected = name === './' ? 'ok' : 'ARCHIVE_PATH_TRAVERSAL';
      expect([name, codeOf(() => normalizeEntryName(name))]).toEqual([name, expected]);
    }
  });
});

describe('isSymlinkAttributes', () => {
  it('detects S_IFLNK in the high 16 bits only', () => {
    expect(isSymlinkAttributes((0o120777 << 16) >>> 0)).toBe(true);
    expect(isSymlinkAttributes((0o100644 << 16) >>> 0)).toBe(false);
    expect(isSymlinkAttributes(0x20)).toBe(false);
  });
});

describe('NameRegistry', () => {
  it('allows explicit directories before or after their files', () => {
    const r = new NameRegistry();
    r.add({ path: 'a/b.json', isDirectory: false });
    r.add({ path: 'a', isDirectory: true });
    r.add({ path: 'c', isDirectory: true });
    r.add({ path: 'c/d.json', isDirectory: false });
    expect(codeOf(() => r.add({ path: 'a/c.json', isDirectory: false }))).toBe('ok');
  });

  it('refuses duplicates and file/directory clashes with ARCHIVE_DUPLICATE_ENTRY', () => {
    const r = new NameRegistry();
    r.add({ path: 'x/y', isDirectory: false });
    expect(codeOf(() => r.add({ path: 'x/y', isDirectory: false }))).toBe('ARCHIVE_DUPLICATE_ENTRY');
    expect(codeOf(() => r.add({ path: 'x', isDirectory: false }))).toBe('ARCHIVE_DUPLICATE_ENTRY');
    expect(codeOf(() => r.add({ path: 'x/y/z', isDirectory: false }))).toBe('ARCHIVE_DUPLICATE_ENTRY');
    expect(codeOf(() => r.add({ path: 'x/y', isDirectory: true }))).toBe('ARCHIVE_DUPLICATE_ENTRY');
    expect(codeOf(() => r.add({ path: 'X/y', isDirectory: false }))).toBe('ok'); // case-sensitive
  });
});

describe('checkNoOverlap', () => {
  it('accepts adjacent ranges and refuses intersecting ones or data in the central directory', () => {
    expect(codeOf(() => checkNoOverlap([{ name: 'b', start: 10, end: 20 }, { name: 'a', start: 0, end: 10 }], 20))).toBe('ok');
    expect(codeOf(() => checkNoOverlap([{ name: 'a', start: 0, end: 11 }, { name: 'b', start: 10, end: 20 }], 20))).toBe('ARCHIVE_OVERLAPPING_ENTRIES');
    expect(codeOf(() => checkNoOverlap([{ name: 'a', start: 0, end: 21 }], 20))).toBe('ARCHIVE_OVERLAPPING_ENTRIES');
  });
});

describe('ciphers', () => {
  it('AES-CTR little-endian: chunking does not change the keystream, and XOR twice is identity', () => {
    const key = Buffer.alloc(32, 7);
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
    const whole = new AesCtrLittleEndian(key).xor(data);
    const ctr = new AesCtrLittleEndian(key);
    const pieces = Buffer.concat([ctr.xor(data.subarray(0, 5)), ctr.xor(data.subarray(5, 37)), ctr.xor(data.subarray(37))]);
    expect(pieces.equals(whole)).toBe(true);
    expect(new AesCtrLittleEndian(key).xor(whole).equals(data)).toBe(true);
  });

  it('ZipCrypto decrypts what it encrypts', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog'.repeat(50));
    const ct = Buffer.alloc(data.length);
    new ZipCryptoKeys('pw').encrypt(data, ct);
    expect(ct.equals(data)).toBe(false);
    new ZipCryptoKeys('pw').decryptInPlace(ct);
    expect(ct.equals(data)).toBe(true);
  });
});
