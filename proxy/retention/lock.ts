import { randomUUID } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Collection, Db } from 'mongodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProxyError } from '../errors.js';
import type { ResolvedDeps } from './deps.js';
import { RETENTION_COLLECTIONS } from './types.js';

interface LockDoc {
  _id: string; owner: string; what: string; expiresAt: Date; node?: string; pid?: number; fence?: number | null; runId?: string | null;
  /** Where `pid` means something: the host name and the pid namespace of the holder's process. */
  host?: string; pidNs?: string | null;
}

/**
 * This process's pid namespace (`pid:[4026531836]`), or null where it cannot be read: a holder's pid is only checked
 * for liveness from the same host AND the same pid namespace (another container on the same node, with the same
 * `ha.nodeId`, sees other pids), and never where that cannot be established.
 */
function pidNamespace(): string | null {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}
const HOST = hostname();
const PID_NS = pidNamespace();

/** Extra facts stored on the lock document (who holds it, for which run). */
export interface LockInfo { runId?: string; fence?: number }

/** Where a holder's pid means something to this process (stored with every lock and run document). */
export const PROCESS_SPACE = { host: HOST, pidNs: PID_NS };

/**
 * True only when the holder's process is provably gone: same node, same host and pid namespace as this process,
 * and no process with its pid. Anything that cannot be established (another host or container, no /proc) is
 * "not gone": its lock is waited out, never broken.
 */
export function holderGone(doc: { node?: string; host?: string; pidNs?: string | null; pid?: number }, nodeId: string): boolean {
  return doc.node === nodeId && processGone(doc);
}

/** holderGone without the node: same host and pid namespace as this process, another pid, and no process with it. */
export function processGone(doc: { host?: string; pidNs?: string | null; pid?: number }): boolean {
  return doc.host === HOST && PID_NS !== null && doc.pidNs === PID_NS && typeof doc.pid === 'number' && doc.pid !== process.pid && !alive(doc.pid);
}

/** True while a process of this machine with that pid exists (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
const WAIT_STEP_MS = 50;
/** Slack for clock reading and scheduling between the local deadline and the lock's expiry in the database. */
const MARGIN_MS = 1_000;

/**
 * A held lock. `confirm()` before EVERY destructive statement: it re-validates the lock in the database (still this
 * owner's, not expired by the server's clock) and extends it; DISPOSITION_LOCKED when it is not (the write is skipped).
 */
export interface LockHandle { owner: string; confirm: () => Promise<void> }

/** The database server's clock (`hello.localTime`; `isMaster` on servers without `hello`), as the HA lease reads it. */
export async function serverNow(db: Db): Promise<Date> {
  const admin = db.admin();
  let reply;
  try {
    reply = await admin.command({ hello: 1 });
  } catch {
    reply = await admin.command({ isMaster: 1 });
  }
  const t: unknown = reply.localTime;
  if (!(t instanceof Date)) throw new ProxyError('INTERNAL', 'the database server did not report its clock (hello.localTime)');
  return t;
}

/**
 * The lock document `retention.locks/disposition` serializes hold placement with disposition batches (across
 * nodes: the portal of either node places holds; the leader runs batches). Its expiry is on the database server's
 * clock (node clocks may differ), so a crashed holder does not block for ever. A holder re-validates it in the
 * database before each destructive statement, and never starts one later than `ttl - 2 * wtimeout - margin` after
 * its last confirmation was sent (so the statement ends, even at its write-concern timeout, before the lock expires).
 */
export class DispositionLock {
  private readonly col: Collection<LockDoc>;

  /** `id`: the lock document (`disposition` for batches and hold placement, `run` for a whole retention run). */
  constructor(private readonly deps: ResolvedDeps, private readonly id = 'disposition') {
    this.col = deps.db.collection<LockDoc>(RETENTION_COLLECTIONS.locks);
    if (deps.lockTtlMs <= 3 * deps.writeConcernTimeoutMs) {
      throw new ProxyError('CONFIG_INVALID', `the disposition lock's time (${deps.lockTtlMs} ms) must be more than 3 x the write concern timeout (${deps.writeConcernTimeoutMs} ms)`);
    }
  }

  private deadline(sent: number): number {
    return sent + this.deps.lockTtlMs - 2 * this.deps.writeConcernTimeoutMs - MARGIN_MS;
  }

  /**
   * Whether the current holder may be pushed aside before its expiry: a process of this node that no longer exists
   * (SIGKILL; its run was marked interrupted by the caller's recovery), or a holder fenced with an older leader token.
   */
  private async breakable(info: LockInfo): Promise<Record<string, unknown>[]> {
    const doc = await this.col.findOne({ _id: this.id });
    if (!doc) return [];
    const deadHere = holderGone(doc, this.deps.nodeId);
    const olderTerm = typeof doc.fence === 'number' && info.fence !== undefined && doc.fence < info.fence;
    if (!deadHere && !olderTerm) return [];
    this.deps.log.warn({ lock: this.id, holder: { node: doc.node, pid: doc.pid, runId: doc.runId, fence: doc.fence } }, deadHere ? 'breaking a retention lock left by a process that is gone' : 'breaking a retention lock of an older leader term');
    return [{ owner: doc.owner }];
  }

  /**
   * Takes the lock, waiting up to `waitMs` (DISPOSITION_LOCKED after that). The disposition lock always waits long
   * enough for a lock left by a holder that died elsewhere (SIGKILL mid-batch) to expire, so a restart is never
   * refused because of a crash (one of this node, or of an older leader term, is broken at once). The run lock
   * answers quickly: a run held by a live process is refused, not waited for.
   */
  async acquire(what: string, requestedWaitMs: number, info: LockInfo = {}): Promise<LockHandle> {
    const waitMs = this.id === 'disposition' ? Math.max(requestedWaitMs, this.deps.lockTtlMs + 5_000) : requestedWaitMs;
    const owner = randomUUID();
    const started = performance.now();
    for (;;) {
      const sent = performance.now();
      const now = await serverNow(this.deps.db);
      const expiresAt = new Date(now.getTime() + this.deps.lockTtlMs);
      const stale = await this.breakable(info);
      try {
        const r = await this.col.updateOne(
          { _id: this.id, $or: [{ expiresAt: { $lte: now } }, ...stale] },
          // The whole holder every time: a fence or run id left by an earlier holder must not stay on the document
          // (a hold placement carrying an old batch's fence could otherwise be broken as "an older leader term").
          { $set: { owner, what, expiresAt, node: this.deps.nodeId, host: HOST, pidNs: PID_NS, pid: process.pid, fence: info.fence ?? null, runId: info.runId ?? null } },
          { upsert: true, writeConcern: this.deps.writeConcern },
        );
        if (r.modifiedCount + r.upsertedCount === 1) return this.handle(owner, what, sent);
      } catch (err) {
        // Duplicate key: another owner holds an unexpired lock (the upsert raced with its document).
        if ((err as { code?: number }).code !== 11000) throw err;
      }
      if (performance.now() - started > waitMs) {
        const holder = await this.col.findOne({ _id: this.id });
        throw new ProxyError('DISPOSITION_LOCKED', `waited ${waitMs} ms for the ${this.id} lock (${what}); held by ${holder?.what ?? '?'} on ${holder?.node ?? '?'} (pid ${holder?.pid ?? '?'})`, { details: { lock: this.id, ...(holder?.runId ? { runId: holder.runId } : {}), ...(holder?.node ? { node: holder.node } : {}) } });
      }
      await sleep(WAIT_STEP_MS);
    }
  }

  private handle(owner: string, what: string, sent: number): LockHandle {
    let localDeadline = this.deadline(sent);
    return {
      owner,
      confirm: async () => {
        if (performance.now() > localDeadline) throw new ProxyError('DISPOSITION_LOCKED', `${what} overran the ${this.id} lock's time; its write is skipped`);
        const again = performance.now();
        const now = await serverNow(this.deps.db);
        const r = await this.col.updateOne(
          { _id: this.id, owner, expiresAt: { $gt: now } },
          { $set: { expiresAt: new Date(now.getTime() + this.deps.lockTtlMs) } },
          { writeConcern: this.deps.writeConcern },
        );
        if (r.matchedCount !== 1) throw new ProxyError('DISPOSITION_LOCKED', `${what} no longer holds the ${this.id} lock (expired or taken over); its write is skipped`);
        localDeadline = this.deadline(again);
      },
    };
  }

  async release(handle: LockHandle): Promise<void> {
    await this.col.deleteOne({ _id: this.id, owner: handle.owner }, { writeConcern: this.deps.writeConcern });
  }

  async with<T>(what: string, waitMs: number, fn: (h: LockHandle) => Promise<T>, info: LockInfo = {}): Promise<T> {
    const h = await this.acquire(what, waitMs, info);
    try {
      return await fn(h);
    } finally {
      await this.release(h).catch(() => undefined);
    }
  }
}
