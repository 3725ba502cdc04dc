import type { Db } from 'mongodb';
import { MongoLeaseStore } from '../ha/lease-store.js';
import { readReplicaSetHealth, type ReplicaSetHealth } from '../ha/replica-set-health.js';
import type { CheckLine } from './run-checks.js';

/** Replica set health as one check line: PASS when every member is up, WARN when degraded or not a replica set. */
export async function replicaSetReport(db: Db): Promise<CheckLine> {
  return replicaSetLine(await readReplicaSetHealth(db, 10_000));
}

export function replicaSetLine(health: ReplicaSetHealth): CheckLine {
  const ok = health.kind === 'replicaSet' && !health.degraded && health.majorityWritable;
  return { name: 'mongodb replica set', status: ok ? 'PASS' : 'WARN', detail: health.detail };
}

/**
 * Whether an acknowledged majority write survives the loss of one server. FAIL when it cannot (a standalone server,
 * a one-member set, a set whose write majority is one data-bearing member) unless `mongodb.allowSingleNode` accepts
 * it (then WARN): "Data Downloaded" makes the vendor delete its copy, so this is the last copy of the data.
 */
export function durabilityLine(health: ReplicaSetHealth, allowSingleNode: boolean): CheckLine {
  const name = 'mongodb durability';
  if (health.kind === 'unknown') {
    // Not proven durable is not durable: e.g. a standalone server whose user may not run replSetGetStatus.
    const detail = `cannot tell how many servers hold an acknowledged write (${health.detail}); give the proxy's database user the clusterMonitor role so that check can read the replica set`;
    return allowSingleNode ? { name, status: 'WARN', detail: `${detail} (accepted by mongodb.allowSingleNode)` } : { name, status: 'FAIL', detail };
  }
  const single = health.kind === 'standalone'
    ? 'not a replica set: an acknowledged write is on this one server only'
    : health.writeMajorityCount < 2
      ? `${health.set}: a majority write is acknowledged by ${health.writeMajorityCount} data-bearing member only`
      : undefined;
  if (single === undefined) {
    return { name, status: 'PASS', detail: `majority writes are journaled on ${health.kind === 'replicaSet' ? health.writeMajorityCount : 0} data-bearing members before they are acknowledged` };
  }
  if (allowSingleNode) return { name, status: 'WARN', detail: `${single} (accepted by mongodb.allowSingleNode)` };
  return {
    name,
    status: 'FAIL',
    detail: `${single}; losing that disk loses data the vendor has deleted after "Data Downloaded". Add data-bearing members, or accept it explicitly with mongodb.allowSingleNode: true (docs/configuration.md)`,
  };
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
