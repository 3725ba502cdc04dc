import type { Db, WriteConcernSettings } from 'mongodb';
import { refreshAllVersions } from './identity-backfill.js';
import { IDENTITY_BATCH, IDENTITY_COLLECTIONS, importRefreshOptions, prepareIdentity, refreshArchiveIdentity, refreshIdentity } from './identity.js';
import { lookupBatchSize, pointQueriesOnly } from './point-queries.js';
import { idKey, type ReplaceHooks } from './upsert-batch.js';

/**
 * Business ids remembered per identity collection, for each of the two kinds (delivered, left); past it that
 * collection's delivered ids are read back by archive name, and its left ids found by walking the collection.
 */
const MAX_TRACKED_KEYS = 50_000;

/**
 * The identity side of an import (identity.ts): the business ids the refresh after its last write must judge,
 * collected from the writes themselves (upsertBatch's hooks) instead of reading the archive's records back by archive
 * name (on FerretDB a read of each whole identity collection, which grows with the year).
 *
 * - Delivered: every business id of a record this import inserted, replaced, or found already stored (newer, or this
 *   very delivery). The same set the read-back found, so the refresh is the one every import did before: each delivery
 *   of a person or room judges its versions again (which also repairs two current versions left by an interruption or
 *   a race), and a replay after an interrupted import judges what the interrupted run wrote. Refreshed reading only
 *   the versions that can win (not superseded, or this archive's: refreshIdentity's `arrivedIn`).
 * - Left: the business id a stored version had when a record with another business id replaces it under the same
 *   `_id`. That id may be losing its current version, and a superseded one (not read with `arrivedIn`) must become
 *   current. As retention does before a delete, the version that will be current is unmarked before the replace
 *   (prepareIdentity, in the replace's own hook), so an interruption leaves a duplicate row, never no row; after the
 *   last write the id is refreshed reading every version. The versions judged gone are every one this import has
 *   moved away so far in that collection, not only the batch's: two batches in flight may each move a version of
 *   the same id, and each must judge as if both were gone.
 * Memory: at most MAX_TRACKED_KEYS ids of each kind, and moved `_id`s, per collection (a few MB). Past that many
 * moved `_id`s the oldest are forgotten (only two batches in flight ever need each other's).
 */
export class ImportIdentityKeys {
  private readonly delivered = new KeySets();
  private readonly left = new KeySets();
  /** Per collection: the stored versions this import's replaces moved to another business id (idKey -> `_id`). */
  private readonly moved = new Map<string, Map<string, unknown>>();

  constructor(private readonly db: Db, private readonly writeConcern: WriteConcernSettings, private readonly cap = MAX_TRACKED_KEYS) {}

  /** The record writes' hooks for `collection`, one object per batch (combined with the room statistics' hooks). */
  hooksFor(collection: string): ReplaceHooks | undefined {
    const idField = IDENTITY_COLLECTIONS[collection];
    if (!idField) return undefined;
    // Versions this batch's replaces take away from their business id (judged, then prepared by beforeReplace).
    let leaving: { key: string; id: unknown }[] = [];
    return {
      projection: { [idField]: 1 },
      inserted: (docs) => this.delivered.add(collection, docs.map((d) => d[idField] as unknown), this.cap),
      judged: (replacing, kept) => {
        this.delivered.add(collection, [...replacing.map((r) => r.incoming[idField] as unknown), ...kept.map((d) => d[idField] as unknown)], this.cap);
        for (const { stored, incoming } of replacing) {
          const was: unknown = stored[idField];
          if (typeof was === 'string' && was !== incoming[idField]) leaving.push({ key: was, id: stored._id as unknown });
        }
        this.left.add(collection, leaving.map((l) => l.key), this.cap);
      },
      beforeReplace: async () => {
        if (leaving.length === 0) return;
        const now = leaving;
        leaving = [];
        const gone = this.moved.get(collection) ?? new Map<string, unknown>();
        this.moved.set(collection, gone);
        for (const l of now) gone.set(idKey(l.id), l.id);
        for (const k of gone.keys()) {
          if (gone.size <= this.cap) break;
          gone.delete(k);
        }
        const opts = { batch: await lookupBatchSize(this.db, IDENTITY_BATCH), pointOnly: await pointQueriesOnly(this.db) };
        await prepareIdentity(this.db, collection, [...new Set(now.map((l) => l.key))], { gone: [...gone.values()] }, this.writeConcern, opts);
      },
    };
  }

  /** After the import's last record write: refreshes what was collected. Returns the marker writes made. */
  async refresh(archive: string, signal?: AbortSignal): Promise<{ written: number; keys: number; readBack: string[]; walked: string[] }> {
    const opts = await importRefreshOptions(this.db, archive, signal);
    const { arrivedIn: _arrivedIn, ...everyVersion } = opts;
    let written = 0;
    let keys = 0;
    for (const collection of Object.keys(IDENTITY_COLLECTIONS)) {
      signal?.throwIfAborted();
      const left = this.left.sets.get(collection) ?? new Set<string>();
      if (this.left.overflowed.has(collection)) written += await refreshAllVersions(this.db, collection, this.writeConcern, everyVersion);
      else {
        keys += left.size;
        written += await refreshIdentity(this.db, collection, [...left], this.writeConcern, everyVersion);
      }
      if (this.delivered.overflowed.has(collection)) written += await refreshArchiveIdentity(this.db, collection, archive, this.writeConcern, signal);
      else {
        // An id both delivered and left was just judged reading every version.
        const list = [...(this.delivered.sets.get(collection) ?? [])].filter((k) => !left.has(k));
        keys += list.length;
        signal?.throwIfAborted();
        written += await refreshIdentity(this.db, collection, list, this.writeConcern, opts);
      }
    }
    return { written, keys, readBack: [...this.delivered.overflowed], walked: [...this.left.overflowed] };
  }
}

/** Business ids per collection, up to a limit; a collection past it is only remembered as such. */
class KeySets {
  readonly sets = new Map<string, Set<string>>();
  readonly overflowed = new Set<string>();

  add(collection: string, keys: readonly unknown[], cap: number): void {
    if (this.overflowed.has(collection) || keys.length === 0) return;
    let set = this.sets.get(collection);
    if (!set) this.sets.set(collection, (set = new Set()));
    for (const k of keys) if (typeof k === 'string') set.add(k);
    if (set.size > cap) {
      this.sets.delete(collection);
      this.overflowed.add(collection);
    }
  }
}
