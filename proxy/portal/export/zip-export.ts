import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { ZipWriter } from '../../archive/zip-writer.js';
import { isProxyError } from '../../errors.js';
import type { MediaService } from '../media.js';
import { jsonArrayStream } from './csv.js';

/** A ZIP entry with its hash, or a media file left out because it is archived (hidden) or destroyed (not stored). */
export type ManifestEntry = { path: string; size: number; sha256: string } | { path: string; omitted: 'archived' | 'destroyed' };

/** One file of an export ZIP: JSON made on the fly, or a stored binary. */
export type ZipPart =
  | { path: string; json: unknown }
  | { path: string; rows: AsyncIterable<unknown> }
  | { path: string; text: AsyncIterable<string> }
  | { path: string; media: { fileId: string; includeArchived?: boolean } };

/** Passes bytes through and hashes them (sha256) and counts them. */
export class HashTap extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** A file name safe inside a ZIP: no directories, no control characters. */
export function safeEntryName(name: string): string {
  const cleaned = [...name].map((c) => (c === '/' || c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? '_' : c)).join('').replace(/^\.+/, '_').slice(0, 150);
  return cleaned === '' ? 'file' : cleaned;
}

/**
 * Streams an unencrypted ZIP of `parts` plus `manifest.json` (path, size and sha256 of every other entry).
 * The returned stream is what the client reads; parts are produced one at a time, with backpressure.
 */
export interface ZipExportOptions {
  /** More top-level fields of manifest.json, asked for when every other entry is written (counts, provenance). */
  manifest?: () => Record<string, unknown>;
}

export function zipExportStream(parts: AsyncIterable<ZipPart> | Iterable<ZipPart>, media: MediaService, log: { error(obj: object, msg: string): void }, opts: ZipExportOptions = {}): Readable {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  const zip = new ZipWriter(out, { encryption: 'none' });
  const manifest: ManifestEntry[] = [];
  // The client may go away mid-download: stop reading the database and end the entry being written.
  let finished = false;
  let current: Readable | undefined;
  out.once('close', () => {
    if (!finished) current?.destroy(new Error('export ZIP: the client closed the connection'));
  });

  const add = async (path: string, source: Readable | Buffer, store: boolean): Promise<void> => {
    if (out.destroyed) throw new Error('export ZIP: the client closed the connection');
    const tap = new HashTap();
    current = Buffer.isBuffer(source) ? undefined : source;
    if (Buffer.isBuffer(source)) tap.end(source);
    else source.on('error', (err) => tap.destroy(err)).pipe(tap);
    await zip.addFile(path, tap, { compression: store ? 'store' : 'deflate' });
    manifest.push({ path, size: tap.size, sha256: tap.digest() });
  };

  const run = async (): Promise<void> => {
    for await (const part of parts) {
      if ('json' in part) await add(part.path, Buffer.from(`${JSON.stringify(part.json, null, 2)}\n`, 'utf8'), false);
      else if ('rows' in part) await add(part.path, jsonArrayStream(part.rows), false);
      else if ('text' in part) await add(part.path, Readable.from(part.text, { objectMode: false }), false);
      else {
        let file;
        try {
          file = await media.describe(part.media.fileId, { includeArchived: part.media.includeArchived === true });
        } catch (err) {
          // Retention archived or destroyed it: the export goes on and says so in the manifest.
          if (!isProxyError(err, 'NOT_FOUND') && !isProxyError(err, 'MEDIA_MISSING')) throw err;
          manifest.push({ path: part.path, omitted: isProxyError(err, 'MEDIA_MISSING') ? 'destroyed' : 'archived' });
          continue;
        }
        await add(part.path, media.open(file), true);
      }
    }
    await zip.addFile('manifest.json', Buffer.from(`${JSON.stringify({ ...opts.manifest?.(), entries: manifest }, null, 2)}\n`, 'utf8'));
    await zip.finish();
    finished = true;
  };
  run().catch((err: unknown) => {
    log.error({ err }, 'ZIP export failed');
    out.destroy(err instanceof Error ? err : new Error('ZIP export failed'));
  });
  return out;
}
