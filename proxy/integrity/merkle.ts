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
  if (sorted.length === 0) return sha256().toString('hex');
  let level = sorted.map((b) => sha256(LEAF, b));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Buffer;
      const right = level[i + 1];
      next.push(right === undefined ? left : sha256(NODE, left, right));
    }
    level = next;
  }
  return (level[0] as Buffer).toString('hex');
}

/** Collects hashes (as 32-byte buffers, half the memory of hex text) and gives their Merkle root. */
export class MerkleSet {
  private readonly hashes: Buffer[] = [];

  add(hex: string): void {
    this.hashes.push(Buffer.from(hex, 'hex'));
  }

  get count(): number {
    return this.hashes.length;
  }

  /** Adds every hash of `other` (for the root over all collections together). */
  addAll(other: MerkleSet): void {
    for (const h of other.hashes) this.hashes.push(h);
  }

  root(): string {
    return merkleRootOfSorted([...this.hashes].sort((a, b) => Buffer.compare(a, b)));
  }
}
