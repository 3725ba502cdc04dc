import type { Db } from 'mongodb';
import { MongoLeaseStore } from '../ha/lease-store.js';
import { readReplicaSetHealth } from '../ha/replica-set-health.js';
import type { CheckLine } from './run-checks.js';

/** Replica set health as one check line: PASS when every member is up, WARN when degraded or not a replica set. */
export async function replicaSetReport(db: Db): Promise<CheckLine> {
  const health = await readReplicaSetHealth(db, 10_000);
  const ok = health.kind === 'replicaSet' && !health.degraded && health.majorityWritable;
  return { name: 'mongodb replica set', status: ok ? 'PASS' : 'WARN', detail: health.detail };
}

/** HA: who holds the leader lease of this site now (server time), as one check line. */
export async function leaseReport(db: Db, siteId: string): Promise<CheckLine> {
  const store = new MongoLeaseStore(db, 5000);
  try {
    const [doc, now] = await Promise.all([store.read(siteId), store.serverNow()]);
    if (!doc || doc.expiresAt <= now) return { name: 'ha leader lease', status: 'PASS', detail: `free${doc ? ` (last token ${doc.token}, ${doc.holder})` : ''}: a node takes it within one renewal period` };
    return { name: 'ha leader lease', status: 'PASS', detail: `held by ${doc.holder} (token ${doc.token}) until ${doc.expiresAt.toISOString()} server time` };
  } catch (err) {
    return { name: 'ha leader lease', status: 'WARN', detail: `could not read the lease: ${(err as Error).message}` };
  }
}
