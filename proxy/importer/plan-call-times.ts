import type { Document } from 'mongodb';
import { CALL_MEDIA_CATEGORIES } from './call-times.js';
import { RETENTION_FIELD } from './record-document.js';

const CALLS = 'history.calls';
const CONFERENCES = 'history.conference-calls';
const FILES = 'file-management.files';
const CALL_CATEGORIES: ReadonlySet<unknown> = new Set(CALL_MEDIA_CATEGORIES);

/**
 * The start times of the calls and conferences an archive delivers, gathered while the import plan parses every
 * record anyway, so that a voicemail or recording of the same archive gets its `_retention.callAt`
 * (proxy/importer/call-times.ts) in the insert that writes it. Stamping afterwards costs one update per file, and
 * on FerretDB's SQLite backend an update costs 100x an insert (a day of 900 such files took 140 s that way).
 *
 * The rule is stampCallTimes' own, in its order: the file's call if it has a `callId`, else its conference, else its
 * `uploadedAt`. Where that call or conference is not in this archive the file is left unstamped here and
 * stampCallTimes finds it after the records are written, as before (it reads the stored call, perhaps from another
 * archive). Memory: one entry per call and conference of the archive.
 */
export class ArchiveCallTimes {
  private readonly calls = new Map<string, Date>();
  private readonly conferences = new Map<string, Date>();

  /** Called by the plan with every parsed record of `collection`. */
  observe(collection: string, doc: Document): void {
    const map = collection === CALLS ? this.calls : collection === CONFERENCES ? this.conferences : undefined;
    if (map === undefined) return;
    const id: unknown = collection === CALLS ? doc.callId : doc.conferenceId;
    const at: unknown = doc.startedAt;
    if (typeof id === 'string' && at instanceof Date) map.set(id, at);
  }

  /**
   * The `_retention.callAt` the file record `doc` of `collection` gets at write time, or undefined (not a voicemail
   * or recording, or its call or conference is not in this archive: stampCallTimes decides later).
   */
  callAt(collection: string, doc: Document): Date | undefined {
    if (collection !== FILES || !CALL_CATEGORIES.has(doc.category)) return undefined;
    if (typeof doc.callId === 'string') return copy(this.calls.get(doc.callId));
    if (typeof doc.conferenceId === 'string') return copy(this.conferences.get(doc.conferenceId));
    return doc.uploadedAt instanceof Date ? copy(doc.uploadedAt) : undefined;
  }

  /** Sets `_retention.callAt` on a stamped file record when callAt() knows it. */
  stamp(collection: string, doc: Document): void {
    const at = this.callAt(collection, doc);
    const stamp: unknown = doc[RETENTION_FIELD];
    if (at !== undefined && typeof stamp === 'object' && stamp !== null) (stamp as Record<string, unknown>).callAt = at;
  }
}

/** A Date per document: one shared between documents must not be mutable from one of them. */
function copy(d: Date | undefined): Date | undefined {
  return d === undefined ? undefined : new Date(d.getTime());
}
