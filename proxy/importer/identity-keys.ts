import type { Db, Document, WriteConcernSettings } from 'mongodb';
import { refreshAllVersions } from './identity-backfill.js';
import { IDENTITY_COLLECTIONS, importRefreshOptions, refreshArchiveIdentity, refreshIdentity } from './identity.js';
import { RETENTION_FIELD } from './record-document.js';
import type { ReplaceHooks } from './upsert-batch.js';

/**
 * Business ids remembered per identity collection, each of the two kinds; past it that collection is read back by
 * archive name (arrived) or walked whole (left).
 */
export const MAX_TRACKED_KEYS = 50_000;
const ARCHIVED = '_archived';

/**
 * The identity side of an import (identity.ts): the business ids whose set of stored versions, or whose current
 * version, its record writes may have changed, collected from the writes themselves (upsertBatch's hooks), so that
 * the refresh after the last write looks up only those, instead of reading the archive's records back by archive name
 * and then every business id it delivered (on FerretDB two reads of each whole identity collection, which grow with
 * the year: 74 s of a day's import into a 5 M-record year).
 *
 * A business id is left out only when every record of it this import wrote replaced, under the same `_id`, a stored
 * version that was the current one: same business id, not marked superseded, not archived, and the incoming record
 * not archived either (retention's marks, which the importer keeps). That version was the one current version (the
 * invariant every refresh leaves), and the delivery replacing it is newer than it, hence newer than every version it
 * had superseded: the same version stays current, no mark changes. That is what a standing staff member, contact or
 * room is every day when the vendor keeps `_id`s.
 * Every other write names its business id: a new `_id` (an insert), a replace of a superseded or archived version,
 * and a record that did not replace its stored version (a newer one is stored, or this very delivery: a replay). The
 * last case is what makes an interrupted import safe: its writes are stored but its refresh never ran; the job is
 * imported again (it is never reported done before), and then every record it had written meets itself and is
 * refreshed. These business ids are refreshed as after any import, reading only the versions that can win (not
 * superseded, or from this archive: refreshIdentity's `arrivedIn`).
 * A replace under the same `_id` of a version of ANOTHER business id also names the business id the stored version
 * leaves: it may have lost its current version, and one of its superseded ones must become current, so those are
 * refreshed reading every version.
 * Memory: at most MAX_TRACKED_KEYS keys of each kind per collection; past that the collection's arrived keys are read
 * back by archive name, and its left keys by walking the whole collection (identity-backfill.ts).
 */
export class ImportIdentityKeys {
  private readonly arrived = new KeySets();
  private readonly left = new KeySets();

  constructor(private readonly cap = MAX_TRACKED_KEYS) {}

  /** The record writes' hooks for `collection` (combined with the room statistics' hooks by the record writer). */
  hooksFor(collection: string): ReplaceHooks | undefined {
    const idField = IDENTITY_COLLECTIONS[collection];
    if (!idField) return undefined;
    return {
      projection: { [idField]: 1, [ARCHIVED]: 1 },
      beforeReplace: () => Promise.resolve(),
      inserted: (docs) => this.arrived.add(collection, docs.map((d) => d[idField] as unknown), this.cap),
      judged: (replacing, kept) => {
        const arrived: unknown[] = kept.map((d) => d[idField] as unknown);
        const left: unknown[] = [];
        for (const { stored, incoming } of replacing) {
          if (replacesCurrent(stored, incoming, idField)) continue;
          arrived.push(incoming[idField]);
          if (stored[idField] !== incoming[idField]) left.push(stored[idField]);
        }
        this.arrived.add(collection, arrived, this.cap);
        this.left.add(collection, left, this.cap);
      },
    };
  }

  /** After the import's last record write: refreshes what was collected. Returns the marker writes made. */
  async refresh(db: Db, archive: string, writeConcern: WriteConcernSettings, signal?: AbortSignal): Promise<{ written: number; keys: number; readBack: string[]; walked: string[] }> {
    const opts = await importRefreshOptions(db, archive, signal);
    const { arrivedIn: _arrivedIn, ...every } = opts;
    let written = 0;
    let keys = 0;
    for (const collection of Object.keys(IDENTITY_COLLECTIONS)) {
      if (this.left.overflowed.has(collection)) written += await refreshAllVersions(db, collection, writeConcern, signal);
      else {
        const list = [...(this.left.sets.get(collection) ?? [])];
        keys += list.length;
        written += await refreshIdentity(db, collection, list, writeConcern, every);
      }
      if (this.arrived.overflowed.has(collection)) written += await refreshArchiveIdentity(db, collection, archive, writeConcern, signal);
      else {
        const list = [...(this.arrived.sets.get(collection) ?? [])];
        keys += list.length;
        written += await refreshIdentity(db, collection, list, writeConcern, opts);
      }
    }
    return { written, keys, readBack: [...this.arrived.overflowed], walked: [...this.left.overflowed] };
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

/** The stored version was its business id's current one, and the incoming record takes its place as such. */
function replacesCurrent(stored: Document, incoming: Document, idField: string): boolean {
  const key: unknown = incoming[idField];
  const stamp = stored[RETENTION_FIELD] as { superseded?: unknown } | undefined;
  return typeof key === 'string' && stored[idField] === key && stamp?.superseded !== true && stored[ARCHIVED] === undefined && incoming[ARCHIVED] === undefined;
}
