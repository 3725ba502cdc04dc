import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProxyError } from '../errors.js';
import type { ResolvedDeps } from './deps.js';
import { RETENTION_COLLECTIONS } from './types.js';

interface LockDoc { _id: string; owner: string; what: string; expiresAt: Date }

const LOCK_ID = 'disposition';
const WAIT_STEP_MS = 50;

/** A held lock: `assertValid()` before a destructive write (a batch that overran its time must not write). */
export interface LockHandle { owner: string; expiresAt: Date; assertValid(): void }

/**
 * The lock document `retention.locks/disposition` serializes hold placement with disposition batches (across
 * nodes: the portal of either node places holds; the leader runs batches). It has an expiry so a crashed holder
 * does not block for ever; a holder checks it is still inside its time before each destructive write.
 */
export class DispositionLock {
  private readonly col: Collection<LockDoc>;

  constructor(private readonly deps: ResolvedDeps) {
    this.col = deps.db.collection<LockDoc>(RETENTION_COLLECTIONS.locks);
  }

  /**
   * Takes the lock, waiting up to `waitMs` (DISPOSITION_LOCKED after that), and always long enough for a lock left
   * by a holder that died (SIGKILL mid-batch) to expire: a restart is never refused because of its own crash.
   */
  async acquire(what: string, requestedWaitMs: number): Promise<LockHandle> {
    const waitMs = Math.max(requestedWaitMs, this.deps.lockTtlMs + 5_000);
    const owner = randomUUID();
    const started = performance.now();
    for (;;) {
      const now = this.deps.now();
      const expiresAt = new Date(now.getTime() + this.deps.lockTtlMs);
      try {
        const r = await this.col.updateOne(
          { _id: LOCK_ID, expiresAt: { $lte: now } },
          { $set: { owner, what, expiresAt } },
          { upsert: true, writeConcern: this.deps.writeConcern },
        );
        if (r.modifiedCount + r.upsertedCount === 1) {
          const localDeadline = performance.now() + this.deps.lockTtlMs * 0.8;
          return {
            owner,
            expiresAt,
            assertValid: () => {
              if (performance.now() > localDeadline) throw new ProxyError('DISPOSITION_LOCKED', `${what} overran the disposition lock's time; its write is skipped`);
            },
          };
        }
      } catch (err) {
        // Duplicate key: another owner holds an unexpired lock (the upsert raced with its document).
        if ((err as { code?: number }).code !== 11000) throw err;
      }
      if (performance.now() - started > waitMs) throw new ProxyError('DISPOSITION_LOCKED', `waited ${waitMs} ms for the disposition lock (${what})`);
      await sleep(WAIT_STEP_MS);
    }
  }

  async release(handle: LockHandle): Promise<void> {
    await this.col.deleteOne({ _id: LOCK_ID, owner: handle.owner }, { writeConcern: this.deps.writeConcern });
  }

  async with<T>(what: string, waitMs: number, fn: (h: LockHandle) => Promise<T>): Promise<T> {
    const h = await this.acquire(what, waitMs);
    try {
      return await fn(h);
    } finally {
      await this.release(h).catch(() => undefined);
    }
  }
}
