import { randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { ProxyError } from '../../errors.js';
import { PORTAL_COLLECTIONS } from '../collections.js';
import type { Role } from '../roles.js';

export type CaseExportState = 'ready' | 'streaming' | 'done' | 'aborted';

/** A person and a date range, or a list and its filters (as its list route takes them). */
export type CaseExportQuery =
  | { person: { kind: 'contact' | 'staff'; id: string; name: string | null }; from: Date; to: Date }
  | { list: { type: string; filters: Record<string, string> } };

export interface CaseExportDoc {
  _id: string;
  state: CaseExportState;
  query: CaseExportQuery;
  createdBy: string;
  role: Role;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  /** The whole ZIP's sha256 and size, computed while it streamed. */
  sha256?: string;
  size?: number;
  error?: string;
}

/**
 * Case exports (`portal.exports`): prepared, then streamed once. The one download's sha256 is stored here and in
 * the audit log, so the copy handed on can be matched to both (chain of custody).
 */
export class CaseExportStore {
  readonly col: Collection<CaseExportDoc>;

  constructor(db: Db, private readonly now: () => Date = () => new Date()) {
    this.col = db.collection<CaseExportDoc>(PORTAL_COLLECTIONS.exports);
  }

  async create(user: { username: string; role: Role }, query: CaseExportQuery): Promise<CaseExportDoc> {
    const doc: CaseExportDoc = { _id: randomUUID(), state: 'ready', query, createdBy: user.username, role: user.role, createdAt: this.now() };
    await this.col.insertOne(doc);
    return doc;
  }

  /** The export, if this user may see it (its creator, or an admin). */
  async get(id: string, user: { username: string; role: Role }): Promise<CaseExportDoc> {
    const doc = await this.col.findOne({ _id: id });
    if (!doc || (doc.createdBy !== user.username && user.role !== 'admin')) throw new ProxyError('NOT_FOUND', `exports/${id}`);
    return doc;
  }

  /** Starts the one download (ready -> streaming, atomically); a used export is 409 EXPORT_USED. */
  async claim(id: string, user: { username: string; role: Role }): Promise<CaseExportDoc> {
    const existing = await this.get(id, user);
    if (existing.createdBy !== user.username) throw new ProxyError('NOT_FOUND', `exports/${id}`);
    const doc = await this.col.findOneAndUpdate({ _id: id, state: 'ready', createdBy: user.username }, { $set: { state: 'streaming', startedAt: this.now() } }, { returnDocument: 'after' });
    if (!doc) throw new ProxyError('EXPORT_USED', `exports/${id}`);
    return doc;
  }

  async finish(id: string, result: { sha256: string; size: number }): Promise<void> {
    await this.col.updateOne({ _id: id, state: 'streaming' }, { $set: { state: 'done', finishedAt: this.now(), ...result } });
  }

  async abort(id: string, error: string, size: number): Promise<void> {
    await this.col.updateOne({ _id: id, state: 'streaming' }, { $set: { state: 'aborted', finishedAt: this.now(), error, size } });
  }
}

/** An export as the API shows it. */
export function exportView(doc: CaseExportDoc): Record<string, unknown> {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest, downloadUrl: `/api/v1/exports/${_id}/download` };
}
