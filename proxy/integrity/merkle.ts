import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * The Merkle root of a set of SHA-256 hashes (lower-case hex), as docs/integrity.md defines it: the hashes sorted
 * ascending (duplicates kept); each leaf node = SHA-256(0x00 || the 32 hash bytes); each parent = SHA-256(0x01 ||
 * left || right), pairing neighbours left to right, an odd last node carried up unchanged; the root is the last node
 * left. No hashes: SHA-256 of nothing (e3b0c442...). Returns lower-case hex.
 */
export function merkleRoot(hexHashes: readonly string[]): string {
  const sorted = hexHashes.map((h) => Buffer.from(h, 'hex')).sort((a, b) => Buffer.compare(a, b));
  return merkleRootOfSorted(sorted);
}

export function merkleRootOfSorted(sorted: readonly Buffer[]): string {
  const packed = Buffer.allocUnsafe(sorted.length * HASH);
  sorted.forEach((b, i) => b.copy(packed, i * HASH));
  return rootOfPacked(packed, sorted.length);
}

const HASH = 32;

/** The root over `n` sorted 32-byte hashes packed in `packed`; one buffer of 32 * n bytes for the levels. */
function rootOfPacked(packed: Buffer, n: number): string {
  if (n === 0) return sha256().toString('hex');
  const level = Buffer.allocUnsafe(n * HASH);
  for (let i = 0; i < n; i++) sha256(LEAF, packed.subarray(i * HASH, (i + 1) * HASH)).copy(level, i * HASH);
  let count = n;
  while (count > 1) {
    let out = 0;
    for (let i = 0; i < count; i += 2, out++) {
      const left = level.subarray(i * HASH, (i + 1) * HASH);
      const node = i + 1 < count ? sha256(NODE, left, level.subarray((i + 1) * HASH, (i + 2) * HASH)) : Buffer.from(left);
      node.copy(level, out * HASH);
    }
    count = out;
  }
  return level.subarray(0, HASH).toString('hex');
}

/**
 * Collects hashes and gives their Merkle root. The hashes are kept packed in one growable buffer (32 bytes each, no
 * per-hash object), so `verify --digest` needs about 32 bytes per item of the day, plus the same again for the root.
 */
export class MerkleSet {
  private buf = Buffer.allocUnsafe(HASH * 1024);
  private n = 0;

  add(hex: string): void {
    this.reserve(1);
    const at = this.n * HASH;
    const written = this.buf.write(hex, at, HASH, 'hex');
    this.buf.fill(0, at + written, at + HASH); // not 64 hex digits (a tampered stamp): a hash that matches nothing
    this.n++;
  }

  get count(): number {
    return this.n;
  }

  /** Adds every hash of `other` (for the root over all collections together). */
  addAll(other: MerkleSet): void {
    this.reserve(other.n);
    other.buf.copy(this.buf, this.n * HASH, 0, other.n * HASH);
    this.n += other.n;
  }

  root(): string {
    const order = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) order[i] = i;
    const buf = this.buf;
    order.sort((a, b) => buf.compare(buf, b * HASH, (b + 1) * HASH, a * HASH, (a + 1) * HASH));
    const sorted = Buffer.allocUnsafe(this.n * HASH);
    for (let i = 0; i < this.n; i++) {
      const at = (order[i] as number) * HASH;
      buf.copy(sorted, i * HASH, at, at + HASH);
    }
    return rootOfPacked(sorted, this.n);
  }

  private reserve(more: number): void {
    const need = (this.n + more) * HASH;
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.n * HASH);
    this.buf = next;
  }
}
