import type { Db, Document } from 'mongodb';

export interface MemberHealth {
  name: string;
  /** stateStr: PRIMARY, SECONDARY, ARBITER, (not reachable/healthy), RECOVERING, ... */
  state: string;
  healthy: boolean;
  /** Holds data (not an arbiter). When the config could not be read, a member that is down counts as data-bearing. */
  dataBearing: boolean;
  votes: number;
  priority: number;
}

export type ReplicaSetHealth =
  | {
      kind: 'replicaSet';
      set: string;
      primary: string | null;
      members: MemberHealth[];
      /** Data-bearing members that are down or not PRIMARY/SECONDARY (the PSA failure). */
      dataBearingDown: string[];
      /** Some member is down or a data-bearing member is not serving. */
      degraded: boolean;
      /** Enough healthy data-bearing voters to satisfy w:'majority': false means majority writes wait and time out. */
      majorityWritable: boolean;
      writeMajorityCount: number;
      detail: string;
    }
  | { kind: 'standalone'; degraded: false; majorityWritable: true; detail: string }
  | { kind: 'unknown'; degraded: false; majorityWritable: boolean | null; detail: string };

interface StatusMember { _id?: number; name?: string; health?: number; stateStr?: string; self?: boolean }
interface ConfigMember { _id?: number; host?: string; arbiterOnly?: boolean; votes?: number; priority?: number }

const SERVING = new Set(['PRIMARY', 'SECONDARY']);

/**
 * Reads a replSetGetStatus reply (and, when available, the replica set config, which tells arbiters and votes
 * apart even for members that are down). Pure, so recorded documents unit-test it.
 */
export function interpretReplicaSet(status: Document, config?: Document): ReplicaSetHealth {
  const configMembers = new Map<number, ConfigMember>();
  for (const m of (config?.members as ConfigMember[] | undefined) ?? []) if (typeof m._id === 'number') configMembers.set(m._id, m);
  const members: MemberHealth[] = ((status.members as StatusMember[] | undefined) ?? []).map((m) => {
    const c = typeof m._id === 'number' ? configMembers.get(m._id) : undefined;
    const state = m.stateStr ?? 'UNKNOWN';
    const healthy = m.health === 1 && (SERVING.has(state) || state === 'ARBITER');
    const arbiter = c ? c.arbiterOnly === true : state === 'ARBITER';
    return { name: m.name ?? c?.host ?? `member ${String(m._id)}`, state, healthy, dataBearing: !arbiter, votes: num(c?.votes, 1), priority: num(c?.priority, arbiter ? 0 : 1) };
  });
  const dataBearing = members.filter((m) => m.dataBearing);
  const dataBearingDown = dataBearing.filter((m) => !(m.healthy && SERVING.has(m.state))).map((m) => m.name);
  const down = members.filter((m) => !m.healthy).map((m) => m.name);
  const voters = members.filter((m) => m.votes > 0);
  const writableVoters = dataBearing.filter((m) => m.votes > 0);
  // The server's own figure (4.2.1+) when present; else the same rule: a majority of voters, capped by the data-bearing voters.
  const writeMajorityCount = typeof status.writeMajorityCount === 'number'
    ? status.writeMajorityCount
    : Math.min(Math.floor(voters.length / 2) + 1, writableVoters.length);
  const servingVoters = writableVoters.filter((m) => m.healthy && SERVING.has(m.state)).length;
  const majorityWritable = servingVoters >= writeMajorityCount && members.some((m) => m.state === 'PRIMARY');
  const primary = members.find((m) => m.state === 'PRIMARY')?.name ?? null;
  const set = typeof status.set === 'string' ? status.set : '?';
  const summary = members.map((m) => `${m.name} ${m.state}${m.votes === 0 ? ' (votes 0)' : ''}`).join(', ');
  const degraded = down.length > 0 || dataBearingDown.length > 0;
  let detail = `${set}: ${summary}`;
  if (dataBearingDown.length > 0) detail = `${set} degraded, data-bearing member(s) down: ${dataBearingDown.join(', ')}; ${summary}`;
  else if (down.length > 0) detail = `${set} degraded, down: ${down.join(', ')}; ${summary}`;
  if (!majorityWritable) detail += `; majority writes cannot be acknowledged (${servingVoters} of ${writeMajorityCount} data-bearing voters serving): imports wait, nothing is reported "Data Downloaded"`;
  return { kind: 'replicaSet', set, primary, members, dataBearingDown, degraded, majorityWritable, writeMajorityCount, detail };
}

/** Runs replSetGetStatus (and replSetGetConfig where permitted) and interprets them; never throws. */
export async function readReplicaSetHealth(db: Db, timeoutMs = 2000): Promise<ReplicaSetHealth> {
  const admin = db.admin();
  let status: Document;
  try {
    status = await admin.command({ replSetGetStatus: 1 }, { timeoutMS: timeoutMs });
  } catch (err) {
    const e = err as { code?: number; codeName?: string; message: string };
    if (e.code === 76 || e.codeName === 'NoReplicationEnabled' || e.code === 59 || e.codeName === 'CommandNotFound') {
      return { kind: 'standalone', degraded: false, majorityWritable: true, detail: 'not a replica set (standalone or MongoDB-compatible server): majority writes are only as durable as this one server' };
    }
    if (e.code === 13 || e.codeName === 'Unauthorized') {
      return { kind: 'unknown', degraded: false, majorityWritable: null, detail: 'not permitted to read replSetGetStatus (grant clusterMonitor to see member health)' };
    }
    return { kind: 'unknown', degraded: false, majorityWritable: null, detail: e.message };
  }
  const config = await admin.command({ replSetGetConfig: 1 }, { timeoutMS: timeoutMs }).then((r) => r.config as Document, () => undefined);
  return interpretReplicaSet(status, config);
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}
