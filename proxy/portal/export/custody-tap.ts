import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * The last stage of a streamed export: passes the bytes on while hashing them, and when the last byte has been
 * handed on (to the connection: not confirmed received) gives the sha256 and size to `finish` (which records them:
 * audit entry, then export document) before it lets the stream end, so the hash is on record before the response
 * ends. A stream that closes without ending, or whose `finish` fails, calls `abort` instead (once).
 */
export class CustodyTap extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  private settled = false;

  constructor(private readonly finish: (r: { sha256: string; size: number }) => Promise<void>, private readonly abort: (reason: string, size: number) => Promise<void>) {
    super();
    this.once('close', () => {
      if (this.settled) return;
      this.settled = true;
      abort(this.errored?.message ?? 'the download was closed before the end', this.size).catch(() => undefined);
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.settled = true;
    this.finish({ sha256: this.hash.digest('hex'), size: this.size }).then(() => cb(), (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      // the hash could not be put on record: the export must not stay `streaming` (nor claim `done`)
      this.abort(`recording the sha256 failed: ${error.message}`, this.size).catch(() => undefined).finally(() => cb(error));
    });
  }
}
