import type { Db } from 'mongodb';
import type { CheckLine } from './run-checks.js';

interface Member { name: string; stateStr: string; health: number; }

/** Replica set health as one check line: PASS when every member is up, WARN when degraded or not a replica set. */
export async function replicaSetReport(db: Db): Promise<CheckLine> {
  try {
    const status = await db.admin().command({ replSetGetStatus: 1 });
    const members = (status.members as Member[] | undefined) ?? [];
    const down = members.filter((m) => m.health !== 1);
    const summary = members.map((m) => `${m.name} ${m.stateStr}`).join(', ');
    return down.length === 0
      ? { name: 'mongodb replica set', status: 'PASS', detail: `${String(status.set)}: ${summary}` }
      : { name: 'mongodb replica set', status: 'WARN', detail: `${String(status.set)} degraded, down: ${down.map((m) => m.name).join(', ')} (${summary})` };
  } catch (err) {
    const e = err as { code?: number; codeName?: string; message: string };
    if (e.code === 76 || e.codeName === 'NoReplicationEnabled' || e.code === 59 || e.codeName === 'CommandNotFound') {
      return { name: 'mongodb replica set', status: 'WARN', detail: 'not a replica set (standalone or MongoDB-compatible server): majority writes are only as durable as this one server' };
    }
    if (e.code === 13 || e.codeName === 'Unauthorized') {
      return { name: 'mongodb replica set', status: 'WARN', detail: 'not permitted to read replSetGetStatus (grant clusterMonitor to see member health)' };
    }
    return { name: 'mongodb replica set', status: 'WARN', detail: e.message };
  }
}
