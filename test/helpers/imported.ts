import type { Db } from 'mongodb';
import { collectionForEntry, MEDIA_BUCKET } from '../../proxy/importer/index.js';

/** Records per collection carrying `_retention.jobId === jobId`, and media files of that job. */
export async function importedCounts(db: Db, jobId: string): Promise<{ records: Record<string, number>; media: number }> {
  const records: Record<string, number> = {};
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (name.startsWith('proxy.') || name.startsWith(`${MEDIA_BUCKET}.`) || name.startsWith('system.')) continue;
    const n = await db.collection(name).countDocuments({ '_retention.jobId': jobId });
    if (n > 0) records[name] = n;
  }
  const media = await db.collection(`${MEDIA_BUCKET}.files`).countDocuments({ 'metadata.jobId': jobId });
  return { records, media };
}

/** The simulator's record counts keyed by collection (it may key by archive path). */
export function byCollection(counts: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) out[k.endsWith('.json') ? (collectionForEntry(k) ?? k) : k] = v;
  return out;
}
