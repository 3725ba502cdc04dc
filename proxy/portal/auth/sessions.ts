import type { Collection, Db } from 'mongodb';
import { ensureIndexes } from '../../db/ensure-indexes.js';
import { retryIfBusy } from '../../db/sqlite-busy.js';
import { ensureTtlIndex, pruneExpired } from '../ttl.js';
import { PORTAL_COLLECTIONS, type SessionDoc } from '../collections.js';
import type { Role } from '../roles.js';
import { randomToken, tokenDigest } from './tokens.js';

export interface SessionPolicy { idleMs: number; maxMs: number }

export interface Session { username: string; role: Role; csrfToken: string; expiresAt: Date }

/** Touch lastSeenAt at most this often (idle expiry is checked against it; saves a write per request). */
const TOUCH_EVERY_MS = 30_000;

/** Server-side sessions: the cookie holds a random token, the database only its sha256. */
export class SessionStore {
  readonly col: Collection<SessionDoc>;

  constructor(db: Db, private readonly policy: SessionPolicy, private readonly now: () => Date = () => new Date()) {
    this.col = db.collection<SessionDoc>(PORTAL_COLLECTIONS.sessions);
  }

  async ensureIndexes(): Promise<void> {
    await ensureTtlIndex(this.col, 'expiresAt');
    await ensureIndexes(this.col, [{ name: 'username', key: { username: 1 } }]);
  }

  async create(user: { username: string; role: Role }, client: { ip: string; userAgent: string }): Promise<{ token: string; session: Session }> {
    const token = randomToken();
    const now = this.now();
    const doc: SessionDoc = {
      _id: tokenDigest(token),
      username: user.username,
      role: user.role,
      csrfToken: randomToken(),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.policy.maxMs),
      ip: client.ip,
      userAgent: client.userAgent,
    };
    await pruneExpired(this.col, 'expiresAt', now);
    // A write FerretDB refused as busy wrote nothing: the same insert is sent again (db/sqlite-busy.ts), as are the
    // deletes and the touch below (idempotent).
    await retryIfBusy(() => this.col.insertOne(doc));
    return { token, session: { username: doc.username, role: doc.role, csrfToken: doc.csrfToken, expiresAt: doc.expiresAt } };
  }

  /** The live session for a cookie token, or undefined (unknown, idle too long, or past its absolute end). */
  async lookup(token: string): Promise<Session | undefined> {
    const id = tokenDigest(token);
    const doc = await this.col.findOne({ _id: id });
    if (!doc) return undefined;
    const now = this.now().getTime();
    if (now >= doc.expiresAt.getTime() || now - doc.lastSeenAt.getTime() >= this.policy.idleMs) {
      await retryIfBusy(() => this.col.deleteOne({ _id: id }));
      return undefined;
    }
    if (now - doc.lastSeenAt.getTime() >= TOUCH_EVERY_MS) await retryIfBusy(() => this.col.updateOne({ _id: id }, { $set: { lastSeenAt: new Date(now) } }));
    return { username: doc.username, role: doc.role, csrfToken: doc.csrfToken, expiresAt: doc.expiresAt };
  }

  async destroy(token: string): Promise<void> {
    await retryIfBusy(() => this.col.deleteOne({ _id: tokenDigest(token) }));
  }

  /** Ends every session of a user (role change, disabling, password change, deletion), except `keepToken`'s. */
  async destroyAllOf(username: string, keepToken?: string): Promise<void> {
    await retryIfBusy(() => this.col.deleteMany(keepToken === undefined ? { username } : { username, _id: { $ne: tokenDigest(keepToken) } }));
  }
}
