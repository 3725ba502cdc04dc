import type { AcquireResult, LeaseClaim, LeaseDoc, LeaseStore } from '../../../proxy/ha/lease-store.js';

/** The lease store's semantics (proxy/ha/lease-store.ts) over one in-memory document and a settable server clock. */
export class MemoryLeaseStore implements LeaseStore {
  doc: LeaseDoc | undefined;
  serverMs = Date.UTC(2026, 10, 22, 12, 0, 0);
  /** When set, every call rejects with it (database unreachable). */
  failWith: Error | undefined;
  readonly acquisitions: { token: number; nodeId: string; at: number }[] = [];

  private check(): void {
    if (this.failWith) throw this.failWith;
  }

  acquire(claim: LeaseClaim): Promise<AcquireResult> {
    this.check();
    const serverNow = new Date(this.serverMs);
    if (this.doc && this.doc.expiresAt.getTime() > this.serverMs) {
      return Promise.resolve({ acquired: false, serverNow, holder: { nodeId: this.doc.holder, token: this.doc.token, expiresAt: this.doc.expiresAt } });
    }
    const token = (this.doc?.token ?? 0) + 1;
    const expiresAt = new Date(this.serverMs + claim.ttlMs);
    this.doc = { _id: claim.siteId, holder: claim.nodeId, instance: claim.instance, token, acquiredAt: serverNow, expiresAt };
    this.acquisitions.push({ token, nodeId: claim.nodeId, at: this.serverMs });
    return Promise.resolve({ acquired: true, token, expiresAt, serverNow });
  }

  renew(claim: LeaseClaim, token: number): Promise<{ renewed: true; expiresAt: Date } | { renewed: false }> {
    this.check();
    const d = this.doc;
    if (!d || d.instance !== claim.instance || d.token !== token || d.expiresAt.getTime() <= this.serverMs) return Promise.resolve({ renewed: false });
    d.expiresAt = new Date(this.serverMs + claim.ttlMs);
    return Promise.resolve({ renewed: true, expiresAt: d.expiresAt });
  }

  release(claim: LeaseClaim, token: number): Promise<void> {
    this.check();
    if (this.doc?.instance === claim.instance && this.doc.token === token) this.doc.expiresAt = new Date(this.serverMs);
    return Promise.resolve();
  }
}
