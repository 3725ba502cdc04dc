import type { Collection, Db, ObjectId } from 'mongodb';
import { ensureIndexes } from '../../db/ensure-indexes.js';
import { PORTAL_COLLECTIONS } from '../collections.js';
import { ensureTtlIndex, pruneExpired } from '../ttl.js';

export interface LockoutPolicy { maxFailuresPerUser: number; maxFailuresPerIp: number; windowMs: number }

interface AttemptDoc { _id?: ObjectId; key: string; at: Date; expiresAt: Date }

/**
 * Failed sign-ins, one document each, in the database so that both nodes of an HA pair count them. A user name
 * (or client address) with too many failures within the window is locked until the oldest of them leaves it.
 */
export class LoginThrottle {
  readonly col: Collection<AttemptDoc>;

  constructor(db: Db, private readonly policy: LockoutPolicy, private readonly now: () => Date = () => new Date()) {
    this.col = db.collection<AttemptDoc>(PORTAL_COLLECTIONS.loginAttempts);
  }

  async ensureIndexes(): Promise<void> {
    await ensureIndexes(this.col, [{ name: 'key_at', key: { key: 1, at: -1 } }]);
    await ensureTtlIndex(this.col, 'expiresAt');
  }

  /** Milliseconds until `key` may try again; 0 when not locked. */
  private async lockedFor(key: string, max: number): Promise<number> {
    const now = this.now().getTime();
    const recent = await this.col
      .find({ key, at: { $gt: new Date(now - this.policy.windowMs) } }, { projection: { at: 1 } })
      .sort({ at: -1 })
      .limit(max)
      .toArray();
    if (recent.length < max) return 0;
    const oldest = recent[recent.length - 1]?.at.getTime() ?? now;
    return Math.max(0, oldest + this.policy.windowMs - now);
  }

  /** Milliseconds until a sign-in for this user from this address may be tried; 0 when allowed. */
  async retryAfterMs(username: string, ip: string): Promise<number> {
    const [u, i] = await Promise.all([
      this.lockedFor(userKey(username), this.policy.maxFailuresPerUser),
      this.lockedFor(ipKey(ip), this.policy.maxFailuresPerIp),
    ]);
    return Math.max(u, i);
  }

  /** When the user name is locked (for the account list), else undefined. */
  async lockedUntil(username: string): Promise<Date | undefined> {
    const ms = await this.lockedFor(userKey(username), this.policy.maxFailuresPerUser);
    return ms > 0 ? new Date(this.now().getTime() + ms) : undefined;
  }

  async recordFailure(username: string, ip: string): Promise<void> {
    const at = this.now();
    const expiresAt = new Date(at.getTime() + this.policy.windowMs);
    await pruneExpired(this.col, 'expiresAt', at);
    await this.col.insertMany([
      { key: userKey(username), at, expiresAt },
      { key: ipKey(ip), at, expiresAt },
    ]);
  }

  /** A successful sign-in clears the user name's failures (not the address's). */
  async clear(username: string): Promise<void> {
    await this.col.deleteMany({ key: userKey(username) });
  }
}

const userKey = (username: string): string => `user:${username.toLowerCase()}`;
const ipKey = (ip: string): string => `ip:${ip}`;
