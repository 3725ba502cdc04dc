import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ProxyError, errorCodeOf } from '../errors.js';
import type { LeaseClaim, LeaseHolderInfo, LeaseStore } from './lease-store.js';

/** What /readyz and /metrics show. `expiresAt` is server time (ISO); a follower sees the leader in `leader`. */
export interface LeaseStatus {
  holder: boolean;
  nodeId: string;
  token: number | null;
  expiresAt: string | null;
  leader: { nodeId: string; token: number; expiresAt: string } | null;
}

/** The fencing token of the current term, for every job and outbox write; LEASE_LOST when this node is not the leader. */
export interface Fence {
  token(): number;
}

export interface LeaseOptions {
  siteId: string;
  nodeId: string;
  ttlMs: number;
  store: LeaseStore;
  log: Logger;
  /** Monotonic milliseconds (performance.now by default); tests inject their own. */
  monotonicNow?: () => number;
}

interface Term {
  token: number;
  /** Server time. */
  expiresAt: Date;
  /** Local monotonic time by which this node stops leading unless it renews (before the server-side expiry). */
  deadline: number;
  /** Local monotonic time of the last successful renewal's request. */
  renewedAt: number;
  controller: AbortController;
}

/**
 * The leader lease's state machine: follower ⇄ leader. A follower tries to acquire every third of the TTL (and right
 * when the leader's lease runs out); the leader renews every third of the TTL. The deadline is measured on the local
 * monotonic clock from the moment the renewal was *sent*, so it falls before the server-side expiry; at the deadline
 * (or when a renewal or a fenced write shows the lease is gone) the term's AbortSignal fires, stopping the cycle.
 */
export class Lease implements Fence {
  readonly instance = randomUUID();
  private term: Term | undefined;
  private leader: LeaseHolderInfo | undefined;
  private nextFollowerDelayMs: number | undefined;
  private renewFailures = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private stopping: AbortController | undefined;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly claim: LeaseClaim;
  private readonly acquiredListeners: ((token: number) => void)[] = [];
  private readonly lostListeners: ((token: number, reason: string) => void)[] = [];

  constructor(private readonly opts: LeaseOptions) {
    this.now = opts.monotonicNow ?? (() => performance.now());
    this.log = opts.log.child({ component: 'lease', nodeId: opts.nodeId });
    this.claim = { siteId: opts.siteId, nodeId: opts.nodeId, instance: this.instance, ttlMs: opts.ttlMs };
  }

  get nodeId(): string { return this.opts.nodeId; }

  /** Called after each acquisition (e.g. start a cycle: the previous leader may have died mid-work). */
  onAcquired(fn: (token: number) => void): void { this.acquiredListeners.push(fn); }
  onLost(fn: (token: number, reason: string) => void): void { this.lostListeners.push(fn); }

  get holder(): boolean { return this.term !== undefined; }
  get renewEveryMs(): number { return this.opts.ttlMs / 3; }
  /** Stop leading this long before the lease would expire (covers a slow step-down and small clock-rate drift). */
  get marginMs(): number { return this.opts.ttlMs / 6; }

  /** Aborted when the current term ends; an already-aborted signal when this node is not the leader. */
  get signal(): AbortSignal {
    return this.term?.controller.signal ?? AbortSignal.abort(new ProxyError('LEASE_LOST', `${this.opts.nodeId} is not the leader`));
  }

  token(): number {
    if (!this.term) throw new ProxyError('LEASE_LOST', `${this.opts.nodeId} does not hold the lease`);
    return this.term.token;
  }

  status(): LeaseStatus {
    const leader = this.term ? { nodeId: this.opts.nodeId, token: this.term.token, expiresAt: this.term.expiresAt } : this.leader;
    return {
      holder: this.term !== undefined,
      nodeId: this.opts.nodeId,
      token: this.term?.token ?? null,
      expiresAt: this.term?.expiresAt.toISOString() ?? null,
      leader: leader ? { nodeId: leader.nodeId, token: leader.token, expiresAt: leader.expiresAt.toISOString() } : null,
    };
  }

  /** One attempt to become the leader (renews instead when it already is). Database errors propagate. */
  async tryAcquire(): Promise<boolean> {
    if (this.term) return this.renew();
    const sentAt = this.now();
    const res = await this.opts.store.acquire(this.claim);
    if (!res.acquired) {
      this.leader = res.holder;
      // Try again right after the holder's lease runs out (converted to local time), at least every third of the TTL.
      const left = res.holder ? res.holder.expiresAt.getTime() - res.serverNow.getTime() : 0;
      this.nextFollowerDelayMs = Math.min(this.renewEveryMs, Math.max(50, left + 50));
      return false;
    }
    this.leader = undefined;
    this.term = { token: res.token, expiresAt: res.expiresAt, deadline: sentAt + this.opts.ttlMs - this.marginMs, renewedAt: sentAt, controller: new AbortController() };
    this.renewFailures = 0;
    this.armWatchdog();
    this.log.info({ token: res.token, expiresAt: res.expiresAt }, 'lease acquired: this node is the leader');
    for (const fn of this.acquiredListeners) fn(res.token);
    return true;
  }

  /** Extends the term; steps down when the lease turns out to be gone. Database errors propagate (the deadline decides). */
  async renew(): Promise<boolean> {
    const term = this.term;
    if (!term || this.checkDeadline()) return false;
    const sentAt = this.now();
    const res = await this.opts.store.renew(this.claim, term.token);
    if (this.term !== term) return false;
    if (!res.renewed) {
      this.stepDown('the lease was taken over or ran out');
      return false;
    }
    term.expiresAt = res.expiresAt;
    term.deadline = sentAt + this.opts.ttlMs - this.marginMs;
    term.renewedAt = sentAt;
    this.renewFailures = 0;
    this.armWatchdog();
    return true;
  }

  /** Steps down if the deadline has passed without a renewal; true when it did. */
  checkDeadline(): boolean {
    if (!this.term || this.now() < this.term.deadline) return false;
    this.stepDown('could not renew the lease in time');
    return true;
  }

  /** Ends the term locally: aborts the running cycle; every later job write is refused (LEASE_LOST). */
  stepDown(reason: string, expected = false): void {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    this.leader = undefined;
    this.nextFollowerDelayMs = undefined;
    if (this.watchdog) clearTimeout(this.watchdog);
    if (expected) this.log.info({ token: term.token, reason }, 'this node stops leading');
    else this.log.warn({ token: term.token, reason }, 'lease lost: this node stops leading');
    term.controller.abort(new ProxyError('LEASE_LOST', reason));
    for (const fn of this.lostListeners) fn(term.token, reason);
  }

  /** Gives the lease back (shutdown, end of `sync --once`) so the other node takes over at once. */
  async release(): Promise<void> {
    const term = this.term;
    if (!term) return;
    this.stepDown('released', true);
    try {
      await this.opts.store.release(this.claim, term.token);
      this.log.info({ token: term.token }, 'lease released');
    } catch (err) {
      this.log.warn({ token: term.token, code: errorCodeOf(err) }, 'could not release the lease; it expires by itself');
    }
  }

  /** Milliseconds until the next attempt: renewal a third of the TTL after the last one (sooner after a failure). */
  nextDelayMs(): number {
    if (!this.term) return this.nextFollowerDelayMs ?? this.renewEveryMs;
    const retry = this.renewFailures > 0 ? Math.min(this.renewEveryMs, this.marginMs) / 2 : this.renewEveryMs;
    const due = (this.renewFailures > 0 ? this.now() : this.term.renewedAt) + retry;
    return Math.max(10, Math.min(due, this.term.deadline) - this.now());
  }

  /** One step of the loop: renew or acquire; a database error counts as a failed attempt. */
  async tick(): Promise<void> {
    try {
      await this.tryAcquire();
    } catch (err) {
      if (this.term) {
        this.renewFailures++;
        this.log.warn({ code: errorCodeOf(err), err: (err as Error).message, failures: this.renewFailures }, 'lease renewal failed; retrying');
        this.checkDeadline();
      } else {
        this.log.warn({ code: errorCodeOf(err), err: (err as Error).message }, 'could not try the lease');
      }
    }
  }

  /** Runs the loop until stop(). */
  start(): void {
    if (this.loop) return;
    const stopping = (this.stopping = new AbortController());
    this.loop = (async () => {
      while (!stopping.signal.aborted) {
        await this.tick();
        await sleep(this.nextDelayMs(), undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    })();
  }

  /** Stops the loop and releases the lease. */
  async stop(): Promise<void> {
    this.stopping?.abort();
    await this.loop;
    this.loop = undefined;
    await this.release();
  }

  private armWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    const term = this.term;
    if (!term) return;
    // Fires even while a renewal hangs on an unreachable database. Node's timers count whole milliseconds on the event
    // loop's clock, so one can come due a fraction of a millisecond before the deadline on our clock: then arm it again
    // (a one-shot check that found the deadline not yet passed left the node leading until its next renewal attempt).
    this.watchdog = setTimeout(() => {
      if (!this.checkDeadline()) this.armWatchdog();
    }, Math.max(0, term.deadline - this.now()) + 1);
    this.watchdog.unref();
  }
}
