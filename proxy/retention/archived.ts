import { BSON, type Document } from 'mongodb';
import { ProxyError } from '../errors.js';
import { RETENTION_FIELD } from '../importer/record-document.js';
import { IDENTITY_BATCH, IDENTITY_COLLECTIONS, prepareIdentity, refreshIdentity } from '../importer/identity.js';
import { toRow } from '../portal/queries/rows.js';
import { LIST_DEFS, type ListTypeName } from '../portal/queries/types.js';
import { DATA_TYPE_DEFS, MEDIA_FILES, dataTypeOfListType, isDataType, type DataTypeDef } from './data-types.js';
import type { ResolvedDeps } from './deps.js';
import { HoldSet } from './hold-filter.js';
import type { HoldStore } from './hold-store.js';
import type { PolicyStore } from './policy-store.js';
import type { RetentionCounters, RunManager } from './runner.js';
import { clockOf, winner } from './selection.js';
import { validateText } from './validate.js';
import { refreshRetentionRooms, roomStatsWrite } from './room-stats-writes.js';
import { ROOM_STAT_SOURCES } from '../portal/room-stats.js';
import {
  ARCHIVED_FIELD, RECORD_DATA_TYPES, type Actor, type ArchivedDetail, type ArchivedItem, type ArchivedMark, type ArchivedPage, type DataType, type Policy,
  type RecordStatus, type RestoreResult,
} from './types.js';

const DAY_MS = 86_400_000;
const ROOM_COUNTED: ReadonlySet<string> = new Set(ROOM_STAT_SOURCES.map((s) => s.collection));
const MAX_PAGE = 200;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Does a policy's scope cover this stored record (media: its file record)? Same rule as scopeFilter, in memory. */
export function scopeCovers(def: DataTypeDef, policy: Policy, doc: Document): boolean {
  if (def.category && doc.category !== def.category) return false;
  const s = policy.scope;
  const valueIn = (v: unknown, list: string[]): boolean => (Array.isArray(v) ? v.some((x) => list.includes(String(x))) : list.includes(String(v)));
  switch (s.kind) {
    case 'all': return true;
    case 'room': return valueIn(doc[def.roomField ?? 'roomId'], s.ids);
    case 'department': return valueIn(doc.department, s.values);
    case 'channel': return valueIn(doc.channel, s.values);
  }
}

const listDefOf = (def: DataTypeDef): { idField: string } => ({ idField: def.idField });

function cursorFilter(cursor: string | undefined): Document {
  if (cursor === undefined || cursor === '') return {};
  try {
    const id: unknown = BSON.EJSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'), { relaxed: false });
    return { _id: { $gt: id } };
  } catch {
    throw new ProxyError('VALIDATION', 'cursor is not valid');
  }
}

const encodeCursor = (id: unknown): string => Buffer.from(BSON.EJSON.stringify(id as never, { relaxed: false }), 'utf8').toString('base64url');

/** Archived data for admins (list, look, restore) and the retention status of any record (detail pages). */
export class ArchivedService {
  constructor(
    private readonly deps: ResolvedDeps,
    private readonly policies: PolicyStore,
    private readonly holds: HoldStore,
    private readonly runs: RunManager,
    private readonly counters: RetentionCounters,
  ) {}

  private def(type: unknown): DataTypeDef {
    if (!isDataType(type)) throw new ProxyError('VALIDATION', `type must be one of ${Object.keys(DATA_TYPE_DEFS).join(', ')}`);
    return DATA_TYPE_DEFS[type];
  }

  async list(type: DataType, opts: { limit?: number; cursor?: string }): Promise<ArchivedPage> {
    const def = this.def(type);
    const limit = Math.min(Math.max(1, Math.trunc(opts.limit ?? 50) || 50), MAX_PAGE);
    const after = cursorFilter(opts.cursor);
    let docs: Document[];
    if (def.kind === 'record') {
      docs = await this.deps.db.collection(def.collection).find({ [ARCHIVED_FIELD]: { $exists: true }, ...after }).sort({ _id: 1 }).limit(limit + 1).toArray();
    } else {
      const filter: Document = { 'metadata.archived': { $exists: true }, _id: { $regex: `^data-retention/${escapeRegex(def.category ?? '')}/`, ...(after._id as Document | undefined) } };
      docs = await this.deps.db.collection(MEDIA_FILES).find(filter).sort({ _id: 1 }).limit(limit + 1).toArray();
    }
    const more = docs.length > limit;
    const page = more ? docs.slice(0, limit) : docs;
    const items: ArchivedItem[] = page.map((d) => (def.kind === 'record' ? this.recordItem(def, d) : mediaItem(def, d)));
    const last = page[page.length - 1];
    return { items, nextCursor: more && last ? encodeCursor(last._id) : null };
  }

  private recordItem(def: DataTypeDef, d: Document): ArchivedItem {
    const { [ARCHIVED_FIELD]: archived, ...row } = toRow(listDefOf(def), d);
    return { ...row, type: def.type, id: row.id, archived: archived as ArchivedMark };
  }

  async get(type: DataType, id: string): Promise<ArchivedDetail> {
    const def = this.def(type);
    if (def.kind === 'media') {
      const m = await this.deps.db.collection<{ _id: string }>(MEDIA_FILES).findOne({ _id: id, 'metadata.archived': { $exists: true } });
      if (!m) throw new ProxyError('NOT_FOUND', `archived ${type} ${id}`);
      const item = mediaItem(def, m);
      return { item, provenance: null, archived: item.archived };
    }
    const d = await this.deps.db.collection(def.collection).findOne({ [def.idField]: id, [ARCHIVED_FIELD]: { $exists: true } });
    if (!d) throw new ProxyError('NOT_FOUND', `archived ${type} ${id}`);
    const item = this.recordItem(def, d);
    return { item, provenance: (d[RETENTION_FIELD] as Document | undefined) ?? null, archived: item.archived };
  }

  /** Unsets the archive mark of one record or binary (nothing else changes: byte-identical). */
  async restoreOne(type: DataType, id: string, reasonRaw: unknown, actor: Actor): Promise<RestoreResult> {
    const def = this.def(type);
    const reason = validateText('reason', reasonRaw, 2000);
    const { db, writeConcern } = this.deps;
    const r = def.kind === 'media'
      ? await db.collection<{ _id: string }>(MEDIA_FILES).updateOne({ _id: id, 'metadata.archived': { $exists: true } }, { $unset: { 'metadata.archived': '' } }, { writeConcern })
      : await this.restoreRecord(def, id);
    // A restored version of a person or room may be the newest visible one again (proxy/importer/identity.ts). Also
    // when nothing was restored: a retry after an interrupted restore repairs the marks.
    if (def.kind !== 'media') await refreshIdentity(db, def.collection, [id], writeConcern);
    if (r.modifiedCount === 0) {
      const exists = def.kind === 'media'
        ? await db.collection<{ _id: string }>(MEDIA_FILES).findOne({ _id: id }, { projection: { _id: 1 } })
        : await db.collection(def.collection).findOne({ [def.idField]: id }, { projection: { _id: 1 } });
      throw new ProxyError(exists ? 'NOT_ARCHIVED' : 'NOT_FOUND', `${type} ${id}`);
    }
    this.counters.records('restored', type, r.modifiedCount);
    this.deps.log.info({ type, id, actor, reason, versions: r.modifiedCount }, 'archived record restored');
    return { restored: r.modifiedCount };
  }

  /**
   * Every archived version of one record (by business id: a vendor that gives a person a new `_id` each day leaves
   * several) has its mark unset; its room's statistics (room-stats-writes.ts) follow. The versions that will be
   * current lose their superseded mark before the write (prepareIdentity): an interruption leaves a duplicate row.
   */
  private async restoreRecord(def: DataTypeDef, id: string): Promise<{ modifiedCount: number }> {
    const { db, writeConcern } = this.deps;
    const filter = { [def.idField]: id, [ARCHIVED_FIELD]: { $exists: true } };
    const docs = await db.collection(def.collection).find(filter, { projection: { _id: 1, roomId: 1 } }).toArray();
    await prepareIdentity(db, def.collection, [id], { restored: docs.map((d) => d._id as unknown) }, writeConcern);
    // Under the process's record-write mutex, as imports and retention batches: the rooms' mark, write and refresh
    // never interleave with an import's (on FerretDB a single-document update is a read then a write, not atomic).
    return this.deps.recordWrites.run(() => roomStatsWrite(this.deps, def.collection, docs, () => db.collection(def.collection).updateMany(filter, { $unset: { [ARCHIVED_FIELD]: '' } }, { writeConcern }), 'now'));
  }

  /**
   * Unsets the archive mark of everything the run archived (that is still archived by it), in batches of
   * IDENTITY_BATCH records: each batch's persons and rooms are prepared before and refreshed after its write, so
   * memory stays bounded and a retry after an interruption finds what is still archived.
   */
  async restoreRun(runId: string, reasonRaw: unknown, actor: Actor): Promise<RestoreResult> {
    const reason = validateText('reason', reasonRaw, 2000);
    await this.runs.get(runId); // NOT_FOUND
    const { db, writeConcern } = this.deps;
    let restored = 0;
    for (const type of RECORD_DATA_TYPES) {
      const def = DATA_TYPE_DEFS[type];
      const n = await this.restoreRunRecords(def, runId);
      if (n > 0) this.counters.records('restored', type, n);
      restored += n;
    }
    // The rooms the batches marked (once per room, not once per batch).
    await refreshRetentionRooms(this.deps);
    const media = (await db.collection(MEDIA_FILES).updateMany({ 'metadata.archived.runId': runId }, { $unset: { 'metadata.archived': '' } }, { writeConcern })).modifiedCount;
    restored += media;
    await this.runs.col.updateOne({ _id: runId }, { $set: { restoredAt: this.deps.now(), restoredBy: actor, restoreReason: reason }, $inc: { restoredCount: restored } }, { writeConcern });
    this.deps.log.info({ runId, restored, actor, reason }, 'retention run restored');
    return { restored };
  }

  private async restoreRunRecords(def: DataTypeDef, runId: string): Promise<number> {
    const { db, writeConcern } = this.deps;
    const col = db.collection(def.collection);
    const idField = IDENTITY_COLLECTIONS[def.collection];
    const byRun = { [`${ARCHIVED_FIELD}.runId`]: runId };
    let restored = 0;
    for (;;) {
      const docs = await col.find(byRun, { projection: { _id: 1, roomId: 1, ...(idField ? { [idField]: 1 } : {}) } }).limit(IDENTITY_BATCH).toArray();
      if (docs.length === 0) return restored;
      const ids = docs.map((d) => d._id as unknown);
      const keys = idField ? [...new Set(docs.map((d): unknown => d[idField]).filter((k): k is string => typeof k === 'string'))] : [];
      await prepareIdentity(db, def.collection, keys, { restored: ids }, writeConcern);
      const rooms = ROOM_COUNTED.has(def.collection) ? docs : [];
      const write = (): Promise<{ modifiedCount: number }> => roomStatsWrite(this.deps, def.collection, rooms, () => col.updateMany({ _id: { $in: ids }, ...byRun } as Document, { $unset: { [ARCHIVED_FIELD]: '' } }, { writeConcern }), 'later');
      const n = (await this.deps.recordWrites.run(write)).modifiedCount; // not beside an import's writes (restoreRecord)
      await refreshIdentity(db, def.collection, keys, writeConcern);
      restored += n;
      if (n === 0) return restored; // changed under us: never loop on the same batch
    }
  }

  /** Which policy applies to a record, when it will be archived and destroyed, and the holds that keep it. */
  async status(type: ListTypeName | DataType, id: string): Promise<RecordStatus> {
    const dataType: DataType = isDataType(type) ? type : type in LIST_DEFS ? dataTypeOfListType(type) : this.def(type).type;
    const def = DATA_TYPE_DEFS[dataType];
    const filter = def.kind === 'media' ? { storagePath: id, category: def.category } : { [def.idField]: id };
    const doc = await this.deps.db.collection(def.collection).findOne(filter);
    if (!doc) throw new ProxyError('NOT_FOUND', `${type} ${id}`);
    const policies = (await this.policies.list()).filter((p) => p.dataType === dataType && scopeCovers(def, p, doc));
    const win = winner(policies);
    const clock = clockOf(def, doc);
    const holdSet = await HoldSet.load(this.deps.db, await this.holds.active());
    const holds: { id: string; name: string }[] = [];
    const covering = holdSet.filters(dataType);
    // One query answers "held at all?" (the usual answer is no); only a held record asks which holds.
    const held = covering.length > 0 && (await this.deps.db.collection(def.collection).countDocuments({ _id: doc._id, $or: covering.map((c) => c.filter) }, { limit: 1 })) > 0;
    for (const { hold, filter: f } of held ? covering : []) {
      if ((await this.deps.db.collection(def.collection).countDocuments({ $and: [{ _id: doc._id }, f] }, { limit: 1 })) > 0) holds.push({ id: hold._id, name: hold.name });
    }
    let archived = doc[ARCHIVED_FIELD] as ArchivedMark | undefined;
    if (def.kind === 'media') {
      const m = await this.deps.db.collection<{ _id: string; metadata?: { archived?: ArchivedMark } }>(MEDIA_FILES).findOne({ _id: id }, { projection: { metadata: 1 } });
      // The file record's own mark wins: an archived file record stays archived whatever its binary's state.
      archived = archived ?? m?.metadata?.archived;
    }
    return {
      policy: win ? { id: win._id, name: win.name, mode: win.mode } : null,
      archiveAt: win && clock ? new Date(clock.getTime() + win.activeDays * DAY_MS) : null,
      destroyAt: win && clock ? new Date(clock.getTime() + (win.activeDays + win.archiveDays) * DAY_MS) : null,
      holds,
      ...(archived ? { archived } : {}),
    };
  }
}

function mediaItem(def: DataTypeDef, m: Document): ArchivedItem {
  const meta = (m.metadata ?? {}) as Document;
  const { archived, ...rest } = meta;
  return { type: def.type, id: String(m._id), archived: archived as ArchivedMark, storagePath: String(m._id), length: Number(m.length ?? 0), ...rest };
}
