import { randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { archiveKeyProblems } from '../config/archive-key-rules.js';
import { ProxyError } from '../errors.js';
import { hashPassword, needsRehash, verifyPassword } from './auth/password.js';
import { PORTAL_COLLECTIONS, type UserDoc } from './collections.js';
import type { Role } from './roles.js';

export const USERNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$';

export interface UserView { username: string; role: Role; disabled: boolean; createdAt: Date; updatedAt: Date; lastLoginAt?: Date }

export interface UserChange { role?: Role; password?: string; disabled?: boolean }

function view(u: UserDoc): UserView {
  return { username: u.username, role: u.role, disabled: u.disabled, createdAt: u.createdAt, updatedAt: u.updatedAt, ...(u.lastLoginAt ? { lastLoginAt: u.lastLoginAt } : {}) };
}

export function checkPasswordRules(password: string): void {
  const problems = archiveKeyProblems(password);
  if (problems.length > 0) throw new ProxyError('PASSWORD_WEAK', problems.join(', '), { details: { problems } });
}

/** A new `sessionEpoch` (collections.ts): 16 random bytes, hex. */
export function newSessionEpoch(): string {
  return randomBytes(16).toString('hex');
}

function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: number }).code === 11000;
}

/** Portal accounts (`portal.users`, `_id` = user name). */
export class UserStore {
  readonly col: Collection<UserDoc>;
  private dummyHash: Promise<string> | undefined;

  constructor(db: Db, private readonly now: () => Date = () => new Date()) {
    this.col = db.collection<UserDoc>(PORTAL_COLLECTIONS.users);
  }

  async list(): Promise<UserView[]> {
    return (await this.col.find({}).sort({ _id: 1 }).toArray()).map(view);
  }

  async get(username: string): Promise<UserView | undefined> {
    const u = await this.col.findOne({ _id: username });
    return u ? view(u) : undefined;
  }

  async create(username: string, password: string, role: Role): Promise<UserView> {
    if (!new RegExp(USERNAME_PATTERN).test(username)) throw new ProxyError('VALIDATION', 'user name: letters, digits, . _ @ -, up to 64 characters');
    checkPasswordRules(password);
    const now = this.now();
    const doc: UserDoc = { _id: username, username, role, passwordHash: await hashPassword(password), disabled: false, createdAt: now, updatedAt: now, passwordChangedAt: now, sessionEpoch: newSessionEpoch() };
    try {
      await this.col.insertOne(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw new ProxyError('USER_EXISTS', username);
      throw err;
    }
    return view(doc);
  }

  /**
   * What decides whether a session of `username` still stands (portal/access.ts): its role, whether it is disabled,
   * and its session epoch; undefined when the account is gone.
   */
  async standing(username: string): Promise<{ role: Role; disabled: boolean; sessionEpoch?: string } | undefined> {
    const u = await this.col.findOne({ _id: username }, { projection: { role: 1, disabled: 1, sessionEpoch: 1 } });
    return u ? { role: u.role, disabled: u.disabled, ...(u.sessionEpoch !== undefined ? { sessionEpoch: u.sessionEpoch } : {}) } : undefined;
  }

  /**
   * Applies a change; refuses to leave no enabled admin. A change that must end the user's sessions (password,
   * disabling, another role) gives the account a new session epoch in the same write (`opts.sessionEpoch`, else a
   * random one), so they end even if the sessions' own deletion never happens. Returns the user and whether its
   * sessions must end.
   */
  async update(username: string, change: UserChange, opts: { sessionEpoch?: string } = {}): Promise<{ user: UserView; endSessions: boolean }> {
    const current = await this.col.findOne({ _id: username });
    if (!current) throw new ProxyError('NOT_FOUND', `user ${username}`);
    if (change.password !== undefined) checkPasswordRules(change.password);
    const losesAdmin = current.role === 'admin' && !current.disabled && ((change.role !== undefined && change.role !== 'admin') || change.disabled === true);
    if (losesAdmin) await this.assertAnotherAdmin(username);
    const now = this.now();
    const set: Partial<UserDoc> = { updatedAt: now };
    if (change.role !== undefined) set.role = change.role;
    if (change.disabled !== undefined) set.disabled = change.disabled;
    if (change.password !== undefined) {
      set.passwordHash = await hashPassword(change.password);
      set.passwordChangedAt = now;
    }
    const endSessions = (change.role !== undefined && change.role !== current.role) || change.disabled === true || change.password !== undefined;
    if (endSessions) set.sessionEpoch = opts.sessionEpoch ?? newSessionEpoch();
    await this.col.updateOne({ _id: username }, { $set: set });
    return { user: view({ ...current, ...set }), endSessions };
  }

  async remove(username: string): Promise<void> {
    const current = await this.col.findOne({ _id: username });
    if (!current) throw new ProxyError('NOT_FOUND', `user ${username}`);
    if (current.role === 'admin' && !current.disabled) await this.assertAnotherAdmin(username);
    await this.col.deleteOne({ _id: username });
  }

  private async assertAnotherAdmin(username: string): Promise<void> {
    const others = await this.col.countDocuments({ role: 'admin', disabled: false, _id: { $ne: username } });
    if (others === 0) throw new ProxyError('LAST_ADMIN');
  }

  /**
   * The enabled user whose password matches, else undefined. Unknown users cost the same scrypt work, so the
   * answer time does not tell which user names exist.
   */
  async authenticate(username: string, password: string): Promise<UserDoc | undefined> {
    const user = await this.col.findOne({ _id: username });
    if (!user) {
      this.dummyHash ??= hashPassword('not a real password, only to spend the same time');
      await verifyPassword(password, await this.dummyHash);
      return undefined;
    }
    const ok = await verifyPassword(password, user.passwordHash);
    if (!ok || user.disabled) return undefined;
    const set: Partial<UserDoc> = { lastLoginAt: this.now() };
    if (needsRehash(user.passwordHash)) set.passwordHash = await hashPassword(password);
    await this.col.updateOne({ _id: username }, { $set: set });
    return user;
  }

  /** `portal.adminPasswordFile`: creates `admin`, or sets its password (and role, enabled) when it differs. */
  async ensureAdmin(password: string, username = 'admin'): Promise<'created' | 'updated' | 'unchanged'> {
    const existing = await this.col.findOne({ _id: username });
    if (!existing) {
      await this.create(username, password, 'admin');
      return 'created';
    }
    const same = existing.role === 'admin' && !existing.disabled && (await verifyPassword(password, existing.passwordHash));
    if (same) return 'unchanged';
    await this.update(username, { role: 'admin', disabled: false, password });
    return 'updated';
  }
}
