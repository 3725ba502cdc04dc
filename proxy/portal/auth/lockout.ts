import { ObjectId, type Collection, type Db } from 'mongodb';
import { ensureIndexes } from '../../db/ensure-indexes.js';
import { insertOwn, REQUEST_BUSY, retryIfBusy } from '../../db/sqlite-busy.js';
import { PORTAL_COLLECTIONS } from '../collections.js';
import { ensureTtlIndex, pruneExpired } from '../ttl.js';

export interface LockoutPolicy { maxFailuresPerUser: number; maxFailuresPerIp: number; windowMs: number }

interface AttemptDoc { _id?: ObjectId; key: string; at: Date; expiresAt: Date }

/** One sign-in attempt, counted before its password is checked. */
export interface SignInAttempt { username: string; ids: ObjectId[] }

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

  /**
   * Milliseconds until `key` may try again; 0 when not locked. Counts the attempts in the window other than
   * `own` (this request's own, already counted) and locks at `max` of them.
   */
  private async lockedFor(key: string, max: number, own?: ObjectId): Promise<number> {
    const now = this.now().getTime();
    const recent = await this.col
      .find({ key, at: { $gt: new Date(now - this.policy.windowMs) }, ...(own ? { _id: { $ne: own } } : {}) }, { projection: { at: 1 } })
      .sort({ at: -1 })
      .limit(max)
      .toArray();
    if (recent.length < max) return 0;
    const oldest = recent[recent.length - 1]?.at.getTime() ?? now;
    return Math.max(1, oldest + this.policy.windowMs - now);
  }

  /**
   * Starts a sign-in attempt: counts it FIRST (one document for the user name, one for the address, as if it
   * failed), then looks at what else is in the window. Counting before verifying is what makes the limit hold under
   * parallel guesses: of N simultaneous attempts, the one that looks last sees all N, so at most `max` of them ever
   * reach the password check. Returns the attempt (for `succeeded`/`withdraw`) and how long a locked one must wait.
   */
  async begin(username: string, ip: string): Promise<{ attempt: SignInAttempt; retryAfterMs: number }> {
    const at = this.now();
    const expiresAt = new Date(at.getTime() + this.policy.windowMs);
    await pruneExpired(this.col, 'expiresAt', at);
    const user: AttemptDoc = { _id: new ObjectId(), key: userKey(username), at, expiresAt };
    const addr: AttemptDoc = { _id: new ObjectId(), key: ipKey(ip), at, expiresAt };
    // Sent again after a refusal, by the attempts' own `_id`s (FerretDB may have taken one of the two: db/sqlite-busy.ts).
    await insertOwn(this.col, [user, addr], REQUEST_BUSY);
    const attempt: SignInAttempt = { username, ids: [user._id as ObjectId, addr._id as ObjectId] };
    const [u, i] = await Promise.all([
      this.lockedFor(user.key, this.policy.maxFailuresPerUser, user._id),
      this.lockedFor(addr.key, this.policy.maxFailuresPerIp, addr._id),
    ]);
    return { attempt, retryAfterMs: Math.max(u, i) };
  }

  /** A refused (locked) attempt is not a failure of its own: it neither counts nor extends the lock. */
  async withdraw(attempt: SignInAttempt): Promise<void> {
    await retryIfBusy(() => this.col.deleteMany({ _id: { $in: attempt.ids } }), REQUEST_BUSY);
  }

  /** The password was right: the attempt is no failure, and the user name's failures are cleared (not the address's). */
  async succeeded(attempt: SignInAttempt): Promise<void> {
    await retryIfBusy(() => this.col.deleteMany({ $or: [{ _id: { $in: attempt.ids } }, { key: userKey(attempt.username) }] }), REQUEST_BUSY);
  }

  /** When the user name is locked (for the account list), else undefined. */
  async lockedUntil(username: string): Promise<Date | undefined> {
    const ms = await this.lockedFor(userKey(username), this.policy.maxFailuresPerUser);
    return ms > 0 ? new Date(this.now().getTime() + ms) : undefined;
  }

  /** A successful sign-in clears the user name's failures (not the address's). */
  async clear(username: string): Promise<void> {
    await retryIfBusy(() => this.col.deleteMany({ key: userKey(username) }), REQUEST_BUSY);
  }
}

const userKey = (username: string): string => `user:${username.toLowerCase()}`;
const ipKey = (ip: string): string => `ip:${ip}`;
