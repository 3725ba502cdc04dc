import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FileDigest } from '../../../proxy/importer/file-digest.js';

describe('FileDigest', () => {
  it('gives the size, CRC-32 and SHA-256 of the chunks fed to it, whatever the chunking', () => {
    const data = randomBytes(1_000_003);
    const d = new FileDigest({ sha256: true });
    for (let i = 0; i < data.length; i += 65_537) d.update(data.subarray(i, i + 65_537));
    expect(d.size).toBe(data.length);
    expect(d.crc32).toBe(crc32(data));
    expect(d.sha256()).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('is an unsigned CRC-32 of nothing (0) for no bytes, and refuses sha256() when made without it', () => {
    const d = new FileDigest({ sha256: false });
    expect(d.crc32).toBe(0);
    d.update(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(d.crc32).toBe(crc32(Buffer.from([0xff, 0xff, 0xff, 0xff])));
    expect(d.crc32).toBeGreaterThan(0);
    expect(() => d.sha256()).toThrow();
  });
});
