import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isProxyError } from '../../../proxy/errors.js';
import { Lease } from '../../../proxy/ha/lease.js';
import { MemoryLeaseStore } from './memory-lease-store.js';

const TTL = 30_000;
const log = pino({ level: 'silent' });

/** Two nodes on one store; a shared fake clock that moves the server clock and both local monotonic clocks together. */
function pair(): { store: MemoryLeaseStore; a: Lease; b: Lease; advance: (ms: number) => void } {
  const store = new MemoryLeaseStore();
  let mono = 1000;
  const make = (nodeId: string): Lease => new Lease({ siteId: 'site', nodeId, ttlMs: TTL, store, log, monotonicNow: () => mono });
  return {
    store,
    a: make('a'),
    b: make('b'),
    advance: (ms) => {
      mono += ms;
      store.serverMs += ms;
    },
  };
}

describe('leader lease state machine (injected clocks)', () => {
  it('only one of two nodes acquires; the token is its fencing token, the other sees the leader', async () => {
    const { a, b } = pair();
    expect(await a.tryAcquire()).toBe(true);
    expect(await b.tryAcquire()).toBe(false);
    expect(a.status()).toMatchObject({ holder: true, nodeId: 'a', token: 1 });
    expect(b.status()).toMatchObject({ holder: false, nodeId: 'b', token: null, leader: { nodeId: 'a', token: 1 } });
    expect(a.token()).toBe(1);
    expect(() => b.token()).toThrow(expect.objectContaining({ code: 'LEASE_LOST' }) as Error);
    expect(b.signal.aborted).toBe(true);
    expect(a.signal.aborted).toBe(false);
  });

  it('renews every third of the TTL and keeps the lease for as long as it renews', async () => {
    const { a, b, store, advance } = pair();
    await a.tryAcquire();
    expect(a.nextDelayMs()).toBe(TTL / 3);
    for (let i = 0; i < 10; i++) {
      advance(TTL / 3);
      await a.tick();
      expect(a.holder).toBe(true);
      expect(await b.tryAcquire()).toBe(false);
    }
    expect(store.acquisitions).toHaveLength(1);
  });

  it('the follower takes over within the TTL after the leader stops renewing, with a larger token', async () => {
    const { a, b, store, advance } = pair();
    await a.tryAcquire();
    // a dies: no more renewals. b polls at the delay it computes from the leader's expiry.
    let waited = 0;
    while (!(await b.tryAcquire())) {
      const d = b.nextDelayMs();
      expect(d).toBeLessThanOrEqual(TTL / 3);
      advance(d);
      waited += d;
    }
    expect(waited).toBeGreaterThanOrEqual(TTL);
    expect(waited).toBeLessThanOrEqual(TTL + 100);
    expect(b.token()).toBe(2);
    expect(store.acquisitions.map((x) => x.token)).toEqual([1, 2]);
  });

  it('a leader that cannot renew steps down (aborting its term) before its lease expires on the server', async () => {
    const { a, b, store, advance } = pair();
    await a.tryAcquire();
    const term = a.signal;
    const lost: string[] = [];
    a.onLost((_t, reason) => lost.push(reason));
    store.failWith = new Error('database unreachable');
    let t = 0;
    while (a.holder) {
      const d = a.nextDelayMs();
      advance(d);
      t += d;
      await a.tick();
    }
    expect(term.aborted).toBe(true);
    expect(isProxyError(term.reason, 'LEASE_LOST')).toBe(true);
    expect(lost).toEqual(['could not renew the lease in time']);
    expect(t).toBeLessThan(TTL); // stepped down before the server-side expiry...
    expect(t).toBeGreaterThanOrEqual(TTL - a.marginMs); // ...but not earlier than needed
    store.failWith = undefined;
    expect(await b.tryAcquire()).toBe(false); // the lease is still a's on the server until it expires
    advance(TTL - t);
    expect(await b.tryAcquire()).toBe(true);
  });

  it('the watchdog steps down at the deadline with no renewal attempted, even when its timer fires early', async () => {
    // Node's timers count whole milliseconds on the event loop's clock, so a timer can come due a fraction of a
    // millisecond before a deadline on the monotonic clock. Exaggerated here: the lease's clock runs at 90% speed,
    // so its watchdog timer always fires before the deadline by that clock.
    const store = new MemoryLeaseStore();
    const start = performance.now();
    const slow = (): number => (performance.now() - start) * 0.9;
    const a = new Lease({ siteId: 'site', nodeId: 'a', ttlMs: 120, store, log, monotonicNow: slow });
    expect(await a.tryAcquire()).toBe(true);
    const deadline = slow() + 120 - 20;
    while (a.holder && performance.now() - start < 1000) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(a.holder).toBe(false);
    expect(slow()).toBeGreaterThanOrEqual(deadline - 1);
    expect(a.signal.aborted).toBe(true);
  });

  it('retries a failed renewal sooner than the normal period', async () => {
    const { a, store, advance } = pair();
    await a.tryAcquire();
    advance(TTL / 3);
    store.failWith = new Error('primary stepping down');
    await a.tick();
    expect(a.holder).toBe(true);
    expect(a.nextDelayMs()).toBeLessThan(TTL / 3);
    store.failWith = undefined;
    advance(a.nextDelayMs());
    await a.tick();
    expect(a.holder).toBe(true);
    expect(a.nextDelayMs()).toBe(TTL / 3);
  });

  it('a renewal that finds the lease taken over steps down at once', async () => {
    const { a, b, store } = pair();
    await a.tryAcquire();
    store.serverMs += TTL + 1; // a was paused (GC, VM freeze) past its expiry; its local clock did not move
    expect(await b.tryAcquire()).toBe(true);
    expect(await a.renew()).toBe(false);
    expect(a.holder).toBe(false);
    expect(a.signal.aborted).toBe(true);
    expect(b.token()).toBeGreaterThan(1);
  });

  it('release ends the term and lets the other node in without waiting for the TTL', async () => {
    const { a, b } = pair();
    await a.tryAcquire();
    const term = a.signal;
    await a.release();
    expect(term.aborted).toBe(true);
    expect(await b.tryAcquire()).toBe(true);
    expect(b.token()).toBe(2);
  });

  it('tokens strictly increase over many takeovers, alternating nodes', async () => {
    const { a, b, store, advance } = pair();
    const nodes = [a, b];
    for (let i = 0; i < 6; i++) {
      const n = nodes[i % 2];
      if (!n) throw new Error('no node');
      while (!(await n.tryAcquire())) advance(n.nextDelayMs());
      n.stepDown('test');
    }
    const tokens = store.acquisitions.map((x) => x.token);
    expect(tokens).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
