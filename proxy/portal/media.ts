import { createHash } from 'node:crypto';
import { GridFSBucket, type Db } from 'mongodb';
import type { Readable } from 'node:stream';
import { MEDIA_BUCKET, type MediaMetadata } from '../importer/index.js';
import { ProxyError } from '../errors.js';
import { LIST_DEFS } from './queries/types.js';
import { visible } from './queries/visible.js';

export interface MediaFile {
  fileId: string;
  name: string;
  mimeType: string;
  /** Recorded in the file record (file-management.files): the vendor's value, compared by verify. */
  sha256: string;
  /**
   * The hash computed over the bytes at import (GridFS metadata.sha256), when it is 64 lower-case hex digits: the
   * only value put into headers (ETag, X-Content-SHA256). The vendor's record may hold anything.
   */
  storedSha256?: string;
  /** GridFS id = filename = archive path. */
  storagePath: string;
  length: number;
  category: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

interface GridFile { _id: string; length: number; metadata?: Partial<MediaMetadata> & { archived?: unknown } }

/** The binaries in GridFS bucket `media`, addressed by the file record's fileId. */
export class MediaService {
  private readonly bucket: GridFSBucket;

  /** maxTimeMS: the server-side limit of describe's look-ups (portal.queryTimeoutMs). */
  constructor(private readonly db: Db, private readonly maxTimeMS = 15_000) {
    this.bucket = new GridFSBucket(db, { bucketName: MEDIA_BUCKET });
  }

  /**
   * NOT_FOUND (no such file record, or it or its binary is archived), MEDIA_MISSING (the binary is not stored).
   * `includeArchived`: an admin's view (hold export), archived records and binaries included.
   */
  async describe(fileId: string, opts: { includeArchived?: boolean } = {}): Promise<MediaFile> {
    const rec = await this.db.collection(LIST_DEFS.files.collection).findOne(opts.includeArchived ? { fileId } : visible({ fileId }), { projection: { fileId: 1, name: 1, mimeType: 1, sha256: 1, storagePath: 1, category: 1 }, maxTimeMS: this.maxTimeMS });
    if (!rec || typeof rec.storagePath !== 'string') throw new ProxyError('NOT_FOUND', `file ${fileId}`);
    const stored = await this.db.collection<GridFile>(`${MEDIA_BUCKET}.files`).findOne({ _id: rec.storagePath }, { projection: { length: 1, metadata: 1 }, maxTimeMS: this.maxTimeMS });
    if (!stored) throw new ProxyError('MEDIA_MISSING', fileId);
    // An archived binary is as invisible as an archived record (retention): 404, not "missing".
    if (stored.metadata?.archived !== undefined && !opts.includeArchived) throw new ProxyError('NOT_FOUND', `file ${fileId}`);
    const computed = stored.metadata?.sha256;
    return {
      fileId,
      ...(typeof computed === 'string' && SHA256_HEX.test(computed) ? { storedSha256: computed } : {}),
      name: String(rec.name ?? fileId),
      mimeType: typeof rec.mimeType === 'string' && rec.mimeType !== '' ? rec.mimeType : (stored.metadata?.contentType ?? 'application/octet-stream'),
      sha256: String(rec.sha256 ?? stored.metadata?.sha256 ?? ''),
      storagePath: rec.storagePath,
      length: Number(stored.length),
      category: String(rec.category ?? ''),
    };
  }

  /** The stored bytes, whole or `start..end` inclusive. */
  open(file: MediaFile, range?: { start: number; end: number }): Readable {
    // GridFS ids are typed as ObjectId by the driver; ours are archive paths.
    return this.bucket.openDownloadStream(file.storagePath as never, range ? { start: range.start, end: range.end + 1 } : {});
  }

  /** Re-reads the stored bytes and hashes them. */
  async verify(fileId: string): Promise<{ fileId: string; sha256Recorded: string; sha256Computed: string; ok: boolean }> {
    const file = await this.describe(fileId);
    const hash = createHash('sha256');
    for await (const chunk of this.open(file)) hash.update(chunk as Buffer);
    const computed = hash.digest('hex');
    return { fileId, sha256Recorded: file.sha256, sha256Computed: computed, ok: computed === file.sha256 };
  }
}
