import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection, Document } from 'mongodb';
import { RETENTION_FIELD } from '../importer/record-document.js';
import { IDENTITY_COLLECTIONS, prepareIdentity, refreshIdentity } from '../importer/identity.js';
import { fenceGuard } from '../ha/fence.js';
import type { ResolvedDeps } from './deps.js';
import { DATA_TYPE_DEFS, MEDIA_FILES, type DataTypeDef } from './data-types.js';
import type { HoldSet } from './hold-filter.js';
import type { DispositionLock, LockHandle } from './lock.js';
import { and, dueFilters } from './selection.js';
import { deleteMedia, tombstoneId, writeTombstones } from './tombstones.js';
import { LIST_DEFS } from '../portal/queries/types.js';
import { refreshRetentionRooms, roomStatsWrite } from './room-stats-writes.js';
import { ARCHIVED_FIELD, MEDIA_NOT_ARCHIVED, RETENTION_COLLECTIONS, type ArchivedMark, type Policy, type Tombstone } from './types.js';

export interface ExecContext {
  deps: ResolvedDeps;
  lock: DispositionLock;
  /** Inside the lock, before each batch: POLICY_CHANGED when a policy changed since the plan (mode, periods, scope). */
  checkPolicies: () => Promise<void>;
  /** The active holds, read fresh (called inside the lock, once per batch). */
  loadHolds: () => Promise<HoldSet>;
  /**
   * A fenced write on the run document before every destructive batch (LEASE_LOST when a newer leader fenced the
   * run off); records the batch's tombstone ids as in flight, for crash recovery.
   */
  beginBatch: (inFlight: string[]) => Promise<void>;
  /** After the batch: clears the in-flight ids and adds to the run's counts. */
  endBatch: (policyId: string, delta: { archived: number; destroyed: number }) => Promise<void>;
  runId: string;
  /** The run's reference time: plan and execution select with the same cutoffs. */
  now: Date;
  signal?: AbortSignal;
}

interface MediaFileDoc { _id: string; length?: number; metadata?: { sha256?: string; archive?: string; archived?: ArchivedMark } }

/** The lock is taken for at most this long per batch wait. */
const LOCK_WAIT_MS = 30_000;

/**
 * Executes one enforcing policy: destroys, then archives, what its plan selects, in bounded batches. Each batch:
 * under the process mutex (no import writes records meanwhile) and the disposition lock (no hold is placed
 * meanwhile), re-reads the holds, selects with the planner's filters plus the hold exclusion, fences on the run
 * document, re-validates the lock in the database before each destructive statement, and writes with that same filter (majority). Pauses between batches.
 */
export async function executePolicy(ctx: ExecContext, policy: Policy, all: readonly Policy[]): Promise<{ archived: number; destroyed: number }> {
  const def = DATA_TYPE_DEFS[policy.dataType];
  const due = await dueFilters(ctx.deps.db, policy, all, ctx.now);
  const mark: ArchivedMark = { runId: ctx.runId, policyId: policy._id, at: ctx.deps.now() };
  const totals = { archived: 0, destroyed: 0 };
  // The leader's term on the lock document: a newer leader may break a lock this (old) leader left.
  const fence = fenceGuard(ctx.deps.lease).token;
  for (const action of ['destroy', 'archive'] as const) {
    let after: unknown;
    for (;;) {
      ctx.signal?.throwIfAborted();
      const r = await ctx.deps.recordWrites.run(() =>
        ctx.lock.with(`retention ${action} ${policy._id}`, LOCK_WAIT_MS, async (lock) => {
          await ctx.checkPolicies();
          const holds = await ctx.loadHolds();
          const filter = and(action === 'destroy' ? due.destroy : due.archive, holds.exclusion(policy.dataType));
          if (def.kind === 'record') return action === 'destroy' ? destroyRecords(ctx, lock, def, policy, filter) : archiveRecords(ctx, lock, def, filter, mark);
          return mediaBatch(ctx, lock, def, policy, filter, action, mark, after);
        }, fence === undefined ? {} : { fence }),
      );
      totals[action === 'destroy' ? 'destroyed' : 'archived'] += r.written;
      if (r.written > 0) await ctx.endBatch(policy._id, action === 'destroy' ? { archived: 0, destroyed: r.written } : { archived: r.written, destroyed: 0 });
      after = r.after;
      // Nothing written while something was selected: it changed under us (never loop on it); nothing selected: done.
      if (r.selected === 0 || (r.written === 0 && after === undefined)) break;
      if (ctx.deps.batchPauseMs > 0) await sleep(ctx.deps.batchPauseMs);
    }
  }
  // The rooms whose messages or calls the batches archived or destroyed (marked `live` until now).
  if (totals.archived + totals.destroyed > 0) await refreshRetentionRooms(ctx.deps, ctx.signal);
  return totals;
}

interface BatchResult { selected: number; written: number; after?: unknown }

async function archiveRecords(ctx: ExecContext, lock: LockHandle, def: DataTypeDef, filter: Document, mark: ArchivedMark): Promise<BatchResult> {
  const col = ctx.deps.db.collection(def.collection);
  const idField = IDENTITY_COLLECTIONS[def.collection];
  const docs = await col.find(filter, { projection: { _id: 1, roomId: 1, ...(idField ? { [idField]: 1 } : {}) } }).limit(ctx.deps.batchSize).toArray();
  const ids = docs.map((d) => d._id as unknown);
  if (ids.length === 0) return { selected: 0, written: 0 };
  await ctx.beginBatch([]);
  await lock.confirm();
  const keys = businessIds(def, docs);
  await prepareIdentity(ctx.deps.db, def.collection, keys, { archived: ids }, ctx.deps.writeConcern);
  const r = await roomStatsWrite(ctx.deps, def.collection, docs, () =>
    col.updateMany(and({ _id: { $in: ids } }, filter), { $set: { [ARCHIVED_FIELD]: mark } }, { writeConcern: ctx.deps.writeConcern }));
  await refreshIdentity(ctx.deps.db, def.collection, keys, ctx.deps.writeConcern);
  return { selected: ids.length, written: r.modifiedCount };
}

/**
 * Staff, contacts and rooms: archiving or destroying one version of a person or room makes the newest version left
 * visible the one lists show (proxy/importer/identity.ts). The business ids of a batch's records: their versions are
 * prepared (prepareIdentity: the next current ones lose their mark) before the write and refreshed after it, so a
 * crash in between leaves a duplicate row, never a person or room that no list shows.
 */
function businessIds(def: DataTypeDef, docs: readonly Document[]): string[] {
  const idField = IDENTITY_COLLECTIONS[def.collection];
  if (!idField) return [];
  return [...new Set(docs.map((d): unknown => d[idField]).filter((k): k is string => typeof k === 'string'))];
}

async function destroyRecords(ctx: ExecContext, lock: LockHandle, def: DataTypeDef, policy: Policy, filter: Document): Promise<BatchResult> {
  const db = ctx.deps.db;
  const col = db.collection(def.collection);
  const idField = IDENTITY_COLLECTIONS[def.collection];
  const docs = await col.find(filter, { projection: { _id: 1, [`${RETENTION_FIELD}.sha256`]: 1, [`${RETENTION_FIELD}.archive`]: 1, storagePath: 1, roomId: 1, ...(idField ? { [idField]: 1 } : {}) } }).limit(ctx.deps.batchSize).toArray();
  if (docs.length === 0) return { selected: 0, written: 0 };
  const ids = docs.map((d) => d._id as unknown);
  const at = ctx.deps.now();
  const stones: Tombstone[] = docs.map((d) => ({
    _id: tombstoneId(def.collection, d._id), collection: def.collection, recordId: d._id, kind: 'record',
    sha256: (d[RETENTION_FIELD] as { sha256?: string } | undefined)?.sha256 ?? null, policyId: policy._id, runId: ctx.runId, destroyedAt: at,
    ...archiveOf((d[RETENTION_FIELD] as { archive?: unknown } | undefined)?.archive),
  }));
  // File records take their binaries with them when no other file record references them.
  let orphans: MediaFileDoc[] = [];
  if (def.collection === LIST_DEFS.files.collection) {
    const paths = [...new Set(docs.map((d): unknown => d.storagePath).filter((p): p is string => typeof p === 'string'))];
    const others: Document = { storagePath: { $in: paths }, _id: { $nin: ids } };
    const kept = new Set(await db.collection(def.collection).distinct('storagePath', others));
    const gone = paths.filter((p) => !kept.has(p));
    orphans = gone.length === 0 ? [] : await mediaFiles(ctx).find({ _id: { $in: gone } }, { projection: { metadata: 1, length: 1 } }).toArray();
    stones.push(...orphans.map((m) => mediaStone(m, policy, ctx.runId, at)));
  }
  await ctx.beginBatch(stones.map((s) => s._id));
  await lock.confirm();
  const keys = businessIds(def, docs);
  await prepareIdentity(db, def.collection, keys, { gone: ids }, ctx.deps.writeConcern);
  await writeTombstones(ctx.deps, stones);
  await lock.confirm();
  const r = await roomStatsWrite(ctx.deps, def.collection, docs, () => col.deleteMany(and({ _id: { $in: ids } }, filter), { writeConcern: ctx.deps.writeConcern }));
  if (r.deletedCount < ids.length) {
    // Some records changed between selection and delete (not a hold: the lock keeps those out): their tombstones go.
    const byIds: Document = { _id: { $in: ids } };
    const left = await col.find(byIds, { projection: { _id: 1 } }).toArray();
    await db.collection<Tombstone>(RETENTION_COLLECTIONS.tombstones).deleteMany({ _id: { $in: left.map((d) => tombstoneId(def.collection, d._id)) } }, { writeConcern: ctx.deps.writeConcern });
  }
  if (orphans.length > 0) {
    const paths = orphans.map((m) => m._id);
    const stillUsed = new Set(await db.collection(def.collection).distinct('storagePath', { storagePath: { $in: paths } }));
    await deleteMedia(ctx.deps, paths.filter((p) => !stillUsed.has(p)), lock.confirm);
    const undo = paths.filter((p) => stillUsed.has(p)).map((p) => tombstoneId(MEDIA_FILES, p));
    if (undo.length > 0) await db.collection<Tombstone>(RETENTION_COLLECTIONS.tombstones).deleteMany({ _id: { $in: undo } }, { writeConcern: ctx.deps.writeConcern });
  }
  await refreshIdentity(db, def.collection, keys, ctx.deps.writeConcern);
  return { selected: ids.length, written: r.deletedCount };
}

function mediaFiles(ctx: ExecContext): Collection<MediaFileDoc> {
  return ctx.deps.db.collection<MediaFileDoc>(MEDIA_FILES);
}

function mediaStone(m: MediaFileDoc, policy: Policy, runId: string, at: Date): Tombstone {
  return { _id: tombstoneId(MEDIA_FILES, m._id), collection: MEDIA_FILES, recordId: m._id, kind: 'media', sha256: m.metadata?.sha256 ?? null, policyId: policy._id, runId, destroyedAt: at, ...archiveOf(m.metadata?.archive) };
}

/** The archive that imported it, kept in its tombstone: its hash stays part of that day's digest (docs/integrity.md). */
function archiveOf(archive: unknown): { archive?: string } {
  return typeof archive === 'string' ? { archive } : {};
}

/**
 * A media policy's batch: the next file records (by _id, so already-handled ones are not selected again), their
 * binaries archived (metadata.archived) or destroyed (tombstone, files document, chunks); the file records stay.
 * A binary that a file record outside the batch's filter also references (held, another scope, not yet due) is kept.
 */
async function mediaBatch(
  ctx: ExecContext, lock: LockHandle, def: DataTypeDef, policy: Policy, filter: Document, action: 'archive' | 'destroy', mark: ArchivedMark, after: unknown,
): Promise<BatchResult> {
  const recs = await ctx.deps.db.collection(def.collection)
    .find(and(filter, after === undefined ? {} : { _id: { $gt: after } }), { projection: { _id: 1, storagePath: 1 } })
    .sort({ _id: 1 }).limit(ctx.deps.batchSize).toArray();
  if (recs.length === 0) return { selected: 0, written: 0 };
  const last: unknown = recs[recs.length - 1]?._id;
  const selected = [...new Set(recs.map((d): unknown => d.storagePath).filter((p): p is string => typeof p === 'string'))];
  // A binary that another file record still needs (held, not covered, or not due) is left alone.
  const blocked = new Set(await ctx.deps.db.collection(def.collection).distinct('storagePath', { storagePath: { $in: selected }, $nor: [filter] }));
  const paths = selected.filter((p) => !blocked.has(p));
  if (paths.length === 0) return { selected: recs.length, written: 0, after: last };
  const stored = await mediaFiles(ctx).find(and({ _id: { $in: paths } }, action === 'archive' ? MEDIA_NOT_ARCHIVED : {}), { projection: { metadata: 1, length: 1 } }).toArray();
  if (stored.length === 0) return { selected: recs.length, written: 0, after: last };
  const ids = stored.map((m) => m._id);
  if (action === 'archive') {
    await ctx.beginBatch([]);
    await lock.confirm();
    const r = await mediaFiles(ctx).updateMany(and({ _id: { $in: ids } }, MEDIA_NOT_ARCHIVED), { $set: { 'metadata.archived': mark } }, { writeConcern: ctx.deps.writeConcern });
    return { selected: recs.length, written: r.modifiedCount, after: last };
  }
  const stones = stored.map((m) => mediaStone(m, policy, ctx.runId, ctx.deps.now()));
  await ctx.beginBatch(stones.map((s) => s._id));
  await lock.confirm();
  await writeTombstones(ctx.deps, stones);
  await deleteMedia(ctx.deps, ids, lock.confirm);
  return { selected: recs.length, written: ids.length, after: last };
}
