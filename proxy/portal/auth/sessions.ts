import type { Collection, Db } from 'mongodb';
import { ensureIndexes } from '../../db/ensure-indexes.js';
import { insertOwn, REQUEST_BUSY, retryIfBusy } from '../../db/sqlite-busy.js';
import { ensureTtlIndex, pruneExpired } from '../ttl.js';
import { PORTAL_COLLECTIONS, type SessionDoc } from '../collections.js';
import type { Role } from '../roles.js';
import { randomToken, tokenDigest } from './tokens.js';

export interface SessionPolicy { idleMs: number; maxMs: number }

export interface Session { username: string; role: Role; csrfToken: string; expiresAt: Date; epoch?: string; pendingEpoch?: string }

/** Touch lastSeenAt at most this often (idle expiry is checked against it; saves a write per request). */
const TOUCH_EVERY_MS = 30_000;

function sessionOf(doc: SessionDoc): Session {
  return { username: doc.username, role: doc.role, csrfToken: doc.csrfToken, expiresAt: doc.expiresAt, ...(doc.epoch !== undefined ? { epoch: doc.epoch } : {}), ...(doc.pendingEpoch !== undefined ? { pendingEpoch: doc.pendingEpoch } : {}) };
}

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

  async create(user: { username: string; role: Role; sessionEpoch?: string }, client: { ip: string; userAgent: string }): Promise<{ token: string; session: Session }> {
    const token = randomToken();
    const now = this.now();
    const doc: SessionDoc = {
      _id: tokenDigest(token),
      username: user.username,
      role: user.role,
      csrfToken: randomToken(),
      createdAt: now,
      ...(user.sessionEpoch !== undefined ? { epoch: user.sessionEpoch } : {}),
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.policy.maxMs),
      ip: client.ip,
      userAgent: client.userAgent,
    };
    await pruneExpired(this.col, 'expiresAt', now);
    // A write FerretDB refused is sent again within the request's budget (db/sqlite-busy.ts): the insert by the
    // session's own `_id`, the deletes and the touch below as they are (idempotent).
    await insertOwn(this.col, [doc], REQUEST_BUSY);
    return { token, session: sessionOf(doc) };
  }

  /** The live session for a cookie token, or undefined (unknown, idle too long, or past its absolute end). */
  async lookup(token: string): Promise<Session | undefined> {
    const id = tokenDigest(token);
    const doc = await this.col.findOne({ _id: id });
    if (!doc) return undefined;
    const now = this.now().getTime();
    if (now >= doc.expiresAt.getTime() || now - doc.lastSeenAt.getTime() >= this.policy.idleMs) {
      await retryIfBusy(() => this.col.deleteOne({ _id: id }), REQUEST_BUSY);
      return undefined;
    }
    if (now - doc.lastSeenAt.getTime() >= TOUCH_EVERY_MS) await retryIfBusy(() => this.col.updateOne({ _id: id }, { $set: { lastSeenAt: new Date(now) } }), REQUEST_BUSY);
    return sessionOf(doc);
  }

  /**
   * Before this session changes its own user's password (routes/auth.ts): the epoch the account is about to get is
   * accepted as well, so that the session's other requests in between stand.
   */
  async expectEpoch(token: string, epoch: string): Promise<void> {
    await retryIfBusy(() => this.col.updateOne({ _id: tokenDigest(token) }, { $set: { pendingEpoch: epoch } }), REQUEST_BUSY);
  }

  /** After it: this session carries the account's new epoch (the other sessions of the user are over). */
  async keepThroughPasswordChange(token: string, epoch: string): Promise<void> {
    await retryIfBusy(() => this.col.updateOne({ _id: tokenDigest(token) }, { $set: { epoch }, $unset: { pendingEpoch: '' } }), REQUEST_BUSY);
  }

  async destroy(token: string): Promise<void> {
    await retryIfBusy(() => this.col.deleteOne({ _id: tokenDigest(token) }), REQUEST_BUSY);
  }

  /** Ends every session of a user (role change, disabling, password change, deletion), except `keepToken`'s. */
  async destroyAllOf(username: string, keepToken?: string): Promise<void> {
    await retryIfBusy(() => this.col.deleteMany(keepToken === undefined ? { username } : { username, _id: { $ne: tokenDigest(keepToken) } }), REQUEST_BUSY);
  }
}
