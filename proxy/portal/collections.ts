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
  lastLoginAt?: Date;
}

export interface SessionDoc {
  _id: string; // sha256 of the cookie token
  username: string;
  role: Role;
  csrfToken: string;
  createdAt: Date;
  /**
   * The user's `passwordChangedAt` when the session began (or was kept through its own password change): a session
   * whose account's password changed since is over (access.ts). Absent in sessions from before it existed.
   */
  credentialAt?: Date;
  lastSeenAt: Date;
  /** Absolute end; the TTL index removes the document after it. */
  expiresAt: Date;
  ip: string;
  userAgent: string;
}
