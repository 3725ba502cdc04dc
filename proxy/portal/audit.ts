import type { Collection, Db, Filter, ObjectId } from 'mongodb';
import { ensureIndexes } from '../db/ensure-indexes.js';
import type { BusyRetry } from '../db/sqlite-busy.js';
import { ChainAppender, type ChainFields } from '../integrity/audit-chain.js';
import { PORTAL_COLLECTIONS } from './collections.js';
import type { ListTypeDef } from './queries/types.js';
import type { Role } from './roles.js';

export const AUDIT_ACTIONS = [
  'login.ok', 'login.failed', 'logout', 'record.view', 'record.verify', 'media.play', 'media.download', 'search', 'export',
  'user.create', 'user.update', 'user.delete', 'password.change',
  // retention governance (docs/retention.md)
  'retention.policy.create', 'retention.policy.update', 'retention.policy.delete', 'retention.policy.mode',
  'retention.hold.create', 'retention.hold.release', 'retention.hold.export', 'retention.restore', 'retention.run',
  'retention.archived.view', 'integrity.digest',
  // `retention-proxy audit seal`: the legacy (pre-chain) entries sealed into the chain (docs/integrity.md)
  'audit.seal',
  // Reads of record content not covered above: a list request without `q`, and a media re-hash.
  'list', 'media.verify',
  // saved searches
  'search.save', 'search.delete',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  at: Date;
  /** User name (for a failed sign-in: the name that was tried). */
  user: string;
  role: Role | null;
  action: AuditAction;
  /** What was acted on, e.g. `calls/<callId>`, `media/<fileId>`, `users/<name>`. */
  target: string;
  ip: string;
  userAgent: string;
  outcome: 'ok' | 'failed' | 'denied';
  details?: Record<string, unknown>;
}

/** A stored entry; entries written before the hash chain existed (legacy) have no chain fields. */
export interface AuditDoc extends AuditEntry, Partial<ChainFields> { _id?: ObjectId }

export type AuditInput = Omit<AuditEntry, 'at'>;

/**
 * The append-only audit trail: this class inserts and reads; nothing in the application updates or deletes. Every
 * entry is a link of a hash chain (`seq`, `prevHash`, `hash`: proxy/integrity/audit-chain.ts, docs/integrity.md).
 */
/**
 * One chain appender per database in a process: the portal, the digest, the retention service and the CLI each make
 * their own AuditLog, and appends within a process must queue behind one another (only the two nodes race).
 */
const APPENDERS = new WeakMap<Db, ChainAppender>();
function appenderFor(db: Db): ChainAppender {
  let appender = APPENDERS.get(db);
  if (!appender) {
    appender = new ChainAppender(db.collection(PORTAL_COLLECTIONS.audit));
    APPENDERS.set(db, appender);
  }
  return appender;
}

export class AuditLog {
  readonly col: Collection<AuditDoc>;
  private readonly chain: ChainAppender;

  constructor(db: Db, private readonly now: () => Date = () => new Date()) {
    this.col = db.collection<AuditDoc>(PORTAL_COLLECTIONS.audit);
    this.chain = appenderFor(db);
  }

  ensureIndexes(): Promise<void> {
    return ensureIndexes(this.col, [
      { name: 'at__id', key: { at: -1, _id: -1 } },
      { name: 'user_at', key: { user: 1, at: -1 } },
      { name: 'action_at', key: { action: 1, at: -1 } },
      // Sparse: legacy entries (no seq) stay out of it. Two writers racing for one seq: the second gets 11000, retries.
      { name: 'seq_unique', key: { seq: 1 }, options: { unique: true, sparse: true } },
    ]);
  }

  /**
   * Appends one entry to the chain (safe with several writers at once, e.g. both proxies of the HA pair; the appends
   * of this instance run one after the other). `busy`: a request's budget for FerretDB's refusals (db/sqlite-busy.ts);
   * background writers leave it out and get every attempt.
   */
  async record(entry: AuditInput, busy: BusyRetry = {}): Promise<void> {
    await this.chain.append({ at: this.now(), ...entry }, busy);
  }
}

export type AuditFilter = Filter<AuditDoc>;

/** The audit log as a list: same query builder, cursor and exports as the record lists. */
export const AUDIT_LIST: ListTypeDef = {
  name: 'audit', collection: PORTAL_COLLECTIONS.audit, idField: '_id', dateField: 'at',
  sortable: ['at'], defaultSort: 'at', defaultOrder: 'desc',
  params: { user: { kind: 'eq', fields: ['user'] }, action: { kind: 'eq', fields: ['action'] }, outcome: { kind: 'eq', fields: ['outcome'] } },
  text: ['target', 'user'],
  columns: ['at', 'user', 'role', 'action', 'target', 'outcome', 'ip', 'userAgent', 'details'],
};
