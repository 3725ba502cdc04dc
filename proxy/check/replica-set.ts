import type { Db } from 'mongodb';
import { readReplicaSetHealth } from '../ha/replica-set-health.js';
import type { CheckLine } from './run-checks.js';

/** Replica set health as one check line: PASS when every member is up, WARN when degraded or not a replica set. */
export async function replicaSetReport(db: Db): Promise<CheckLine> {
  const health = await readReplicaSetHealth(db, 10_000);
  const ok = health.kind === 'replicaSet' && !health.degraded && health.majorityWritable;
  return { name: 'mongodb replica set', status: ok ? 'PASS' : 'WARN', detail: health.detail };
}
