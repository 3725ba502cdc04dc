import type { Document } from 'mongodb';
import { CALL_MEDIA_CATEGORIES } from './call-times.js';
import { RETENTION_FIELD } from './record-document.js';

const CALLS = 'history.calls';
const CONFERENCES = 'history.conference-calls';
const FILES = 'file-management.files';
const CALL_CATEGORIES: ReadonlySet<unknown> = new Set(CALL_MEDIA_CATEGORIES);
/**
 * Calls and conferences remembered per archive, together: ~310 bytes each with UUID ids (measured), so at most
 * ~62 MB however large the archive (a day holds a few thousand). Past it, new ones are not remembered and their files are left to
 * stampCallTimes, which gives the same value, only slower.
 */
const MAX_ENTRIES = 200_000;

/** A call or conference record of the archive: its start and its `_id` (the key of its tombstone, if destroyed). */
interface Started {
  at: Date;
  id: unknown;
}

/**
 * Which of `ids` (records of `collection`) retention destroyed, so that the import drops them (DispositionFilter).
 * The answer is a predicate on one `_id`.
 */
export type DestroyedCheck = (collection: string, ids: readonly unknown[]) => Promise<(id: unknown) => boolean>;

/**
 * The start times of the calls and conferences an archive delivers, gathered while the import plan parses every
 * record anyway, so that a voicemail or recording of the same archive gets its `_retention.callAt`
 * (proxy/importer/call-times.ts) in the insert that writes it. Stamping afterwards costs one update per file, and
 * on FerretDB's SQLite backend an update costs 100x an insert (a day of 900 such files took 140 s that way).
 *
 * The rule is stampCallTimes' own, in its order: the file's call if it has a `callId`, else its conference, else its
 * `uploadedAt`. Where that call or conference is not known here the file is left unstamped and stampCallTimes finds
 * it after the records are written, as before (it reads the stored call, perhaps from another archive): a call or
 * conference not in this archive, one past MAX_ENTRIES, or one retention destroyed (tombstoned: the import does not
 * write it, so its start must not reach a file either; stampCallTimes then gives what the stored records say).
 */
export class ArchiveCallTimes {
  private readonly calls = new Map<string, Started>();
  private readonly conferences = new Map<string, Started>();

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  /** Called by the plan with every parsed record of `collection`. */
  observe(collection: string, doc: Document): void {
    const map = collection === CALLS ? this.calls : collection === CONFERENCES ? this.conferences : undefined;
    if (map === undefined) return;
    const key: unknown = collection === CALLS ? doc.callId : doc.conferenceId;
    const at: unknown = doc.startedAt;
    if (typeof key !== 'string' || !(at instanceof Date)) return;
    // Full: a known one still takes its later version (the last one in the archive is the one written), no new ones.
    if (this.calls.size + this.conferences.size >= this.maxEntries && !map.has(key)) return;
    map.set(key, { at, id: doc._id as unknown });
  }

  /**
   * Sets `_retention.callAt` on the stamped file records `docs` of `collection` (the batch about to be written) where
   * this archive knows the call time, unless the call or conference it comes from is destroyed (`destroyed`).
   */
  async stamp(collection: string, docs: readonly Document[], destroyed?: DestroyedCheck): Promise<void> {
    if (collection !== FILES) return;
    const planned: { doc: Document; at: Date; from?: { collection: string; id: unknown } }[] = [];
    for (const doc of docs) {
      if (!CALL_CATEGORIES.has(doc.category)) continue;
      if (typeof doc.callId === 'string' || typeof doc.conferenceId === 'string') {
        const [from, s] = typeof doc.callId === 'string' ? [CALLS, this.calls.get(doc.callId)] : [CONFERENCES, this.conferences.get(doc.conferenceId as string)];
        if (s) planned.push({ doc, at: s.at, from: { collection: from, id: s.id } });
      } else if (doc.uploadedAt instanceof Date) {
        planned.push({ doc, at: doc.uploadedAt });
      }
    }
    if (planned.length === 0) return;
    const gone = new Map<string, (id: unknown) => boolean>();
    if (destroyed) {
      for (const c of [CALLS, CONFERENCES]) {
        const ids = planned.filter((p) => p.from?.collection === c).map((p) => p.from?.id);
        if (ids.length > 0) gone.set(c, await destroyed(c, ids));
      }
    }
    for (const p of planned) {
      if (p.from && gone.get(p.from.collection)?.(p.from.id)) continue;
      const stamp: unknown = p.doc[RETENTION_FIELD];
      // A Date per document: one shared between documents must not be mutable from one of them.
      if (typeof stamp === 'object' && stamp !== null) (stamp as Record<string, unknown>).callAt = new Date(p.at.getTime());
    }
  }
}
