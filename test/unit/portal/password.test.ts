import { describe, expect, it } from 'vitest';
import { hashPassword, needsRehash, parsePasswordHash, verifyPassword } from '../../../proxy/portal/auth/password.js';

const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe('password hashing (scrypt, PHC string)', () => {
  it('produces a PHC string with its parameters and a 16-byte salt, and verifies only the right password', async () => {
    const phc = await hashPassword('Correct-Horse-1', FAST);
    expect(phc).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(parsePasswordHash(phc)?.salt).toHaveLength(16);
    expect(await verifyPassword('Correct-Horse-1', phc)).toBe(true);
    expect(await verifyPassword('correct-horse-1', phc)).toBe(false);
    expect(await verifyPassword('', phc)).toBe(false);
  });

  it('salts: the same password hashes differently each time', async () => {
    expect(await hashPassword('Same-Pass-1', FAST)).not.toBe(await hashPassword('Same-Pass-1', FAST));
  });

  it('uses N=2^15, r=8, p=1 by default and asks for a re-hash of weaker hashes', async () => {
    const strong = await hashPassword('Default-Pass-1');
    expect(strong.startsWith('$scrypt$ln=15,r=8,p=1$')).toBe(true);
    expect(needsRehash(strong)).toBe(false);
    expect(needsRehash(await hashPassword('Weak-Params-1', FAST))).toBe(true);
  });

  it('normalises Unicode (NFC) so the same visible password matches', async () => {
    const phc = await hashPassword('Caf\u00e9-Pass-1', FAST);
    expect(await verifyPassword('Cafe\u0301-Pass-1', phc)).toBe(true);
  });

  it('never matches a malformed or foreign hash', async () => {
    for (const bad of ['', 'plain', '$2b$10$abcdefghijklmnopqrstuv', '$scrypt$ln=99,r=8,p=1$AAAA$BBBB', '$scrypt$ln=10,r=8,p=1$AAAA$']) {
      expect(await verifyPassword('x', bad), bad).toBe(false);
    }
  });
});
