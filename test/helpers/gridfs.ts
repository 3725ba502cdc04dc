import { GridFSBucket, type Db } from 'mongodb';
import { MEDIA_BUCKET } from '../../proxy/importer/index.js';

/** The bytes of a media file as any driver's GridFSBucket reads them back (ids are archive paths). */
export async function downloadMedia(db: Db, id: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of new GridFSBucket(db, { bucketName: MEDIA_BUCKET }).openDownloadStream(id as never)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
