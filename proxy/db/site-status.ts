import type { Db } from 'mongodb';

export const SITE_STATUS_COLLECTION = 'proxy.site_status';

/** The site's last successful cycle, whichever node ran it: a follower's /readyz shows it too. */
export interface SiteStatusDoc { _id: string; lastSuccessAt: Date; nodeId: string }

export async function recordSiteSuccess(db: Db, siteId: string, nodeId: string, at: Date): Promise<void> {
  await db.collection<SiteStatusDoc>(SITE_STATUS_COLLECTION).updateOne({ _id: siteId }, { $max: { lastSuccessAt: at }, $set: { nodeId } }, { upsert: true });
}

export function readSiteStatus(db: Db, siteId: string): Promise<SiteStatusDoc | null> {
  return db.collection<SiteStatusDoc>(SITE_STATUS_COLLECTION).findOne({ _id: siteId });
}
