import { MongoServerError, type Collection, type Db } from 'mongodb';
import { dbCall, majority } from '../db/write-concern.js';

export const LEASE_COLLECTION = 'proxy.lease';
export const LEASE_HISTORY_COLLECTION = 'proxy.lease_history';

/** One per siteId. Times are the database server's clock, never a proxy's. */
export interface LeaseDoc {
  _id: string; // siteId
  /** nodeId of the holder (for people: logs, /readyz). */
  holder: string;
  /** The holding process (a fresh id per start): renewals match on it, so a restarted node is a new holder. */
  instance: string;
  /** Fencing token: +1 on every acquisition, never reused. */
  token: number;
  acquiredAt: Date;
  expiresAt: Date;
  releasedAt?: Date;
}

/** Every acquisition, kept for audits and the HA tests: tokens strictly increase and terms never overlap. */
export interface LeaseHistoryDoc {
  _id: string; // `${siteId}:${token}`
  siteId: string;
  token: number;
  holder: string;
  instance: string;
  acquiredAt: Date;
  /** The term this one ended: its last expiry (or release) is <= acquiredAt, by the same server clock. */
  previous?: { holder: string; instance: string; token: number; expiresAt: Date };
}

export interface LeaseClaim { siteId: string; nodeId: string; instance: string; ttlMs: number }
export interface LeaseHolderInfo { nodeId: string; token: number; expiresAt: Date }
export type AcquireResult =
  | { acquired: true; token: number; expiresAt: Date; serverNow: Date }
  | { acquired: false; serverNow: Date; holder?: LeaseHolderInfo };

/** The lease's atomic operations. MongoLeaseStore is the real one; unit tests use an in-memory double. */
export interface LeaseStore {
  acquire(claim: LeaseClaim): Promise<AcquireResult>;
  /** Extends the term `token` of `instance`; false when the lease is no longer ours. */
  renew(claim: LeaseClaim, token: number): Promise<{ renewed: true; expiresAt: Date } | { renewed: false }>;
  /** Ends the term now (clean shutdown, end of `sync --once`) so the other node need not wait for the TTL. */
  release(claim: LeaseClaim, token: number): Promise<void>;
}

const DUPLICATE_KEY = 11000;
const COMMAND_NOT_FOUND = 59;

/**
 * The lease in MongoDB. The server's clock comes from `hello.localTime` (every server from 4.2 to 8.x and
 * FerretDB; `isMaster` on 4.2 releases before 4.2.10, which lack `hello`), read just before each write: a stale
 * reading can only make a lease look younger than it is, so it errs on the safe side. Writes are majority-acknowledged:
 * a lease that a failover could roll back would let two nodes lead.
 *
 * Acquisition is a conditional findOneAndUpdate on the lease document (atomic on MongoDB), then the insert of the
 * term's history entry, whose `_id` (siteId:token) is unique: if two nodes ever got the same token (FerretDB 1.x does
 * not serialise concurrent findAndModify on one document: several callers can match the same expired lease), only the
 * one whose insert succeeds leads; the other reports "not acquired". A renewal likewise gives up when a newer term exists.
 */
export class MongoLeaseStore implements LeaseStore {
  readonly col: Collection<LeaseDoc>;
  readonly history: Collection<LeaseHistoryDoc>;

  constructor(
    private readonly db: Db,
    private readonly wtimeoutMs: number,
  ) {
    this.col = db.collection<LeaseDoc>(LEASE_COLLECTION);
    this.history = db.collection<LeaseHistoryDoc>(LEASE_HISTORY_COLLECTION);
  }

  async serverNow(): Promise<Date> {
    const admin = this.db.admin();
    const reply = await dbCall('read the server clock', async () => {
      try {
        return await admin.command({ hello: 1 });
      } catch (err) {
        if (err instanceof MongoServerError && err.code === COMMAND_NOT_FOUND) return admin.command({ isMaster: 1 });
        throw err;
      }
    });
    const t: unknown = reply.localTime;
    if (!(t instanceof Date)) throw new Error('the database server did not report its clock (hello.localTime)');
    return t;
  }

  async acquire(claim: LeaseClaim): Promise<AcquireResult> {
    const serverNow = await this.serverNow();
    const expiresAt = new Date(serverNow.getTime() + claim.ttlMs);
    let before: LeaseDoc | null;
    try {
      before = await dbCall('acquire the lease', () =>
        this.col.findOneAndUpdate(
          { _id: claim.siteId, expiresAt: { $lte: serverNow } },
          { $set: { holder: claim.nodeId, instance: claim.instance, acquiredAt: serverNow, expiresAt }, $unset: { releasedAt: '' }, $inc: { token: 1 } },
          { upsert: true, returnDocument: 'before', writeConcern: majority(this.wtimeoutMs) },
        ),
      );
    } catch (err) {
      // The document exists and has not expired: the upsert's insert collides with it.
      if (!isDuplicateKey(err)) throw err;
      const current = await dbCall('read the lease', () => this.col.findOne({ _id: claim.siteId }));
      return current ? { acquired: false, serverNow, holder: { nodeId: current.holder, token: current.token, expiresAt: current.expiresAt } } : { acquired: false, serverNow };
    }
    const token = (before?.token ?? 0) + 1;
    const entry: LeaseHistoryDoc = { _id: `${claim.siteId}:${token}`, siteId: claim.siteId, token, holder: claim.nodeId, instance: claim.instance, acquiredAt: serverNow };
    if (before) entry.previous = { holder: before.holder, instance: before.instance, token: before.token, expiresAt: before.expiresAt };
    try {
      await dbCall('record the lease term', () => this.history.insertOne(entry, { writeConcern: majority(this.wtimeoutMs) }));
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Another node got the same token at the same moment and recorded it first: it leads.
      const other = await dbCall('read the lease term', () => this.history.findOne({ _id: entry._id }));
      return { acquired: false, serverNow, ...(other ? { holder: { nodeId: other.holder, token, expiresAt } } : {}) };
    }
    return { acquired: true, token, expiresAt, serverNow };
  }

  async renew(claim: LeaseClaim, token: number): Promise<{ renewed: true; expiresAt: Date } | { renewed: false }> {
    const serverNow = await this.serverNow();
    const expiresAt = new Date(serverNow.getTime() + claim.ttlMs);
    const res = await dbCall('renew the lease', () =>
      this.col.updateOne(
        // expiresAt > now: a term that has run out is over even if nobody took it yet (its holder already stopped).
        { _id: claim.siteId, instance: claim.instance, token, expiresAt: { $gt: serverNow } },
        { $set: { expiresAt } },
        { writeConcern: majority(this.wtimeoutMs) },
      ),
    );
    if (res.matchedCount !== 1) return { renewed: false };
    const newer = await dbCall('look for a newer lease term', () => this.history.findOne({ siteId: claim.siteId, token: { $gt: token } }, { projection: { _id: 1 } }));
    return newer ? { renewed: false } : { renewed: true, expiresAt };
  }

  async release(claim: LeaseClaim, token: number): Promise<void> {
    const serverNow = await this.serverNow();
    await dbCall('release the lease', () =>
      this.col.updateOne(
        { _id: claim.siteId, instance: claim.instance, token },
        { $set: { expiresAt: serverNow, releasedAt: serverNow } },
        { writeConcern: majority(this.wtimeoutMs) },
      ),
    );
  }

  read(siteId: string): Promise<LeaseDoc | null> {
    return dbCall('read the lease', () => this.col.findOne({ _id: siteId }));
  }
}

function isDuplicateKey(err: unknown): boolean {
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  return cause instanceof MongoServerError && cause.code === DUPLICATE_KEY;
}
