/**
 * Size, CRC-32 and (when asked) SHA-256 of bytes read from a staged file, fed chunk by chunk.
 *
 * The pipeline computes each plaintext's SHA-256 once, in the import plan (planImport), which reads every staged file
 * before the first database write anyway: that value is checked against manifest.json and stored with the data.
 * Extraction and the later reads (record writer, GridFS upload) only need to notice that the staged bytes changed
 * since extraction (disk error, another process), which size + CRC-32 does at a fraction of the cost. The staging
 * directory is writable only by the service user, who could as well change the archive before extraction, so a
 * cryptographic hash there would protect nothing more.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export class FileDigest {
  size = 0;
  private crc = 0;
  private readonly hash: Hash | undefined;

  constructor(options: { sha256: boolean }) {
    this.hash = options.sha256 ? createHash('sha256') : undefined;
  }

  update(chunk: Buffer): void {
    this.size += chunk.length;
    this.crc = crc32(chunk, this.crc);
    this.hash?.update(chunk);
  }

  /** Unsigned CRC-32 of the bytes so far. */
  get crc32(): number {
    return this.crc >>> 0;
  }

  /** Hex SHA-256; only for a digest made with `sha256: true`, once, after the last chunk. */
  sha256(): string {
    if (this.hash === undefined) throw new Error('FileDigest: made without sha256');
    return this.hash.digest('hex');
  }
}
