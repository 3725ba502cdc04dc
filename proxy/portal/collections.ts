import type { Role } from './roles.js';

/** Collections the portal owns. */
export const PORTAL_COLLECTIONS = {
  users: 'portal.users',
  sessions: 'portal.sessions',
  audit: 'portal.audit',
  loginAttempts: 'portal.login_attempts',
  savedSearches: 'portal.saved_searches',
  /** Case exports: what was asked, by whom, and the ZIP's sha256 once streamed (chain of custody). */
  exports: 'portal.exports',
} as const;

export interface UserDoc {
  _id: string; // user name
  username: string;
  role: Role;
  passwordHash: string;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  passwordChangedAt: Date;
  /**
   * Random, and a new one with every change that must end the account's sessions (password, disabling, role): a
   * session stands only while it carries the account's current one (portal/access.ts). Absent on accounts from before
   * it existed until their first such change.
   */
  sessionEpoch?: string;
  lastLoginAt?: Date;
}

export interface SessionDoc {
  _id: string; // sha256 of the cookie token
  username: string;
  role: Role;
  csrfToken: string;
  createdAt: Date;
  /** The account's `sessionEpoch` when the session began (absent when the account had none). */
  epoch?: string;
  /** Set while this session changes its own password: the epoch the account is about to get, accepted as well. */
  pendingEpoch?: string;
  lastSeenAt: Date;
  /** Absolute end; the TTL index removes the document after it. */
  expiresAt: Date;
  ip: string;
  userAgent: string;
}
