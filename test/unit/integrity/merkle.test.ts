import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { merkleRoot, MerkleSet } from '../../../proxy/integrity/merkle.js';

const h = (...parts: (Buffer | number[])[]): Buffer => {
  const x = createHash('sha256');
  for (const p of parts) x.update(Buffer.isBuffer(p) ? p : Buffer.from(p));
  return x.digest();
};
const hex = (s: string): string => createHash('sha256').update(s).digest('hex');
const leaf = (hx: string): Buffer => h([0], Buffer.from(hx, 'hex'));
const node = (l: Buffer, r: Buffer): Buffer => h([1], l, r);

describe('merkleRoot (docs/integrity.md, "The daily digest")', () => {
  const [a, b, c] = [hex('a'), hex('b'), hex('c')].sort() as [string, string, string];

  it('is sha256 of nothing for no hashes, and the leaf node for one', () => {
    expect(merkleRoot([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(merkleRoot([a])).toBe(leaf(a).toString('hex'));
  });

  it('sorts the hashes, pairs neighbours with a 0x01 prefix and carries an odd last node up unchanged', () => {
    const expected = node(node(leaf(a), leaf(b)), leaf(c)).toString('hex');
    expect(merkleRoot([c, a, b])).toBe(expected);
    expect(merkleRoot([b, c, a])).toBe(expected);
  });

  it('keeps duplicates (two identical records count twice) and MerkleSet gives the same root', () => {
    expect(merkleRoot([a, a])).toBe(node(leaf(a), leaf(a)).toString('hex'));
    const set = new MerkleSet();
    for (const x of [c, a, b, a]) set.add(x);
    expect([set.count, set.root()]).toEqual([4, merkleRoot([a, a, b, c])]);
    expect(set.root()).toBe(node(node(leaf(a), leaf(a)), node(leaf(b), leaf(c))).toString('hex'));
  });

  it('MerkleSet (hashes packed in one buffer) gives merkleRoot for many hashes, odd counts and addAll', () => {
    const many = Array.from({ length: 4097 }, (_, i) => hex(`item ${String(i)}`));
    const x = new MerkleSet();
    const y = new MerkleSet();
    many.forEach((m, i) => (i % 3 === 0 ? x : y).add(m));
    const all = new MerkleSet();
    all.addAll(x);
    all.addAll(y);
    expect([all.count, all.root()]).toEqual([4097, merkleRoot(many)]);
    expect(x.root()).toBe(merkleRoot(many.filter((_, i) => i % 3 === 0)));
  });
});
