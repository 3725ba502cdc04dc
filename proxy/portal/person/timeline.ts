import type { Db, Document } from 'mongodb';
import { RETENTION_FIELD, type RetentionStamp } from '../../importer/index.js';
import { ProxyError } from '../../errors.js';
import { DEFAULT_QUERY_LIMITS, type QueryLimits, type QueryTimeouts } from '../queries/list-service.js';
import type { NameResolver } from '../queries/names.js';
import { enrichRows, toRow, type Row } from '../queries/rows.js';
import { LIST_DEFS, RECORD_COLLECTIONS } from '../queries/types.js';
import { unarchived, visible } from '../queries/visible.js';
import { afterPosition, compareIds, decodeTimelineCursor, encodeTimelineCursor, type TimelinePosition } from './timeline-cursor.js';
import { SOURCE_RANK, TIMELINE_SOURCES, type PersonScope, type TimelineSource, type TimelineType } from './sources.js';

export interface TimelineRange { from: Date; to: Date }

/** A timeline row's type; a case export of the rooms, staff or contacts list also has these. */
export type EntryType = TimelineType | 'room' | 'staff-member' | 'contact';

/** One row of a person's timeline. */
export interface TimelineEntry {
  type: EntryType;
  label: string;
  /** When it happened; null for a case export of a list without a date (rooms, staff, contacts). */
  at: Date | null;
  /** The linked record's list (`voicemails`, `calls`, ...) and business id: its detail page is /<list>/<id>. */
  link: { list: TimelineSource['linkList'] | 'rooms' | 'staff' | 'contacts'; id: string };
  /** The record as its list shows it (voicemails/recordings: the file, with its `call` or `conference`). */
  item: Row;
  /** Where the record came from (the `_retention` stamp): the file record's for voicemails and recordings. */
  provenance: RetentionStamp | null;
}

export interface Person {
  kind: 'contact' | 'staff';
  id: string;
  name: string | null;
  /** Every stored version of the person (superseded ones too; not archived ones), newest delivery first, with its provenance. */
  versions: { item: Row; provenance: RetentionStamp | null }[];
}

interface Candidate { source: TimelineSource; doc: Document; at: Date; rank: number }

const PERSON_DEFS = { contact: LIST_DEFS.contacts, staff: LIST_DEFS.staff } as const;
const MAX_VERSIONS = 100;
export const TIMELINE_MAX_LIMIT = 200;

function compare(a: Candidate, b: Candidate): number {
  return a.at.getTime() - b.at.getTime() || a.rank - b.rank || compareIds(a.doc._id, b.doc._id);
}

const stampOf = (doc: Document): RetentionStamp | null => (doc[RETENTION_FIELD] as RetentionStamp | undefined) ?? null;

/**
 * A person's timeline: every enquiry, message (their rooms' too), call, conference, voicemail, recording and file
 * in a date range, in time order. A page is a k-way merge of one bounded, indexed query per source (sorted by
 * (time, _id), limit page+1), so its cost does not grow with the person's history; archived records are hidden.
 */
export class TimelineService {
  constructor(private readonly db: Db, private readonly names: NameResolver, private readonly timeouts: QueryTimeouts, private readonly limits: QueryLimits = DEFAULT_QUERY_LIMITS) {}

  /**
   * The person by business id with every stored version (superseded ones are their history: person.json holds them
   * all), named by the newest current one; null when no current (not archived, not superseded) version exists.
   */
  async person(kind: 'contact' | 'staff', id: string): Promise<Person | null> {
    const def = PERSON_DEFS[kind];
    const docs = await this.db.collection(def.collection).find(unarchived({ [def.idField]: id }), { maxTimeMS: this.timeouts.queryMs })
      .sort({ [`${RETENTION_FIELD}.createdAt`]: -1, _id: -1 }).limit(MAX_VERSIONS).toArray();
    const current = docs.find((d) => (d[RETENTION_FIELD] as { superseded?: unknown } | undefined)?.superseded !== true);
    if (!current) return null;
    const name: unknown = current[kind === 'contact' ? 'name' : 'displayName'];
    return { kind, id, name: typeof name === 'string' ? name : null, versions: docs.map((d) => ({ item: toRow(def, d), provenance: stampOf(d) })) };
  }

  /**
   * The rooms whose messages belong on the timeline: the person's rooms created by `to`, and their enquiries' rooms
   * in the range. At most `limits.maxIds` rooms (they become a `$in`): beyond, 400 QUERY_TOO_BROAD.
   */
  async scope(person: Pick<Person, 'kind' | 'id'>, range: TimelineRange, maxTimeMS = this.timeouts.queryMs): Promise<PersonScope> {
    const enquiryFilter = person.kind === 'contact' ? { 'customer.contactId': person.id } : { assignee: person.id };
    const max = this.limits.maxIds;
    const [rooms, enquiries] = await Promise.all([
      this.db.collection(RECORD_COLLECTIONS.rooms).find(visible({ 'participants.id': person.id, createdAt: { $lte: range.to } }), { projection: { _id: 0, roomId: 1 }, maxTimeMS }).limit(max + 1).toArray(),
      this.db.collection(RECORD_COLLECTIONS.enquiries).find(visible({ ...enquiryFilter, closedAt: { $gte: range.from }, openedAt: { $lte: range.to } }), { projection: { _id: 0, roomId: 1 }, maxTimeMS }).limit(max + 1).toArray(),
    ]);
    const roomIds = new Set<string>();
    for (const d of [...rooms, ...enquiries]) if (typeof d.roomId === 'string') roomIds.add(d.roomId);
    if (roomIds.size > max) throw new ProxyError('QUERY_TOO_BROAD', `${person.kind}/${person.id} is in more than ${max} rooms by ${range.to.toISOString()}`);
    return { kind: person.kind, id: person.id, roomIds: [...roomIds] };
  }

  private query(source: TimelineSource, scope: PersonScope, range: TimelineRange, after?: TimelinePosition): Document {
    const and: Document[] = [source.filter(scope), { [source.timeField]: { $gte: range.from, $lte: range.to } }];
    if (after) and.push(afterPosition(source, after));
    return visible({ $and: and });
  }

  /** How many records the range holds over every source, counting at most `limit` (a case export's size check). */
  async count(scope: PersonScope, range: TimelineRange, limit: number): Promise<number> {
    let total = 0;
    for (const source of TIMELINE_SOURCES) {
      if (total >= limit) break;
      total += await this.db.collection(source.collection).countDocuments(this.query(source, scope, range), { limit: limit - total, maxTimeMS: this.timeouts.queryMs });
    }
    return total;
  }

  /** One page: up to `limit` rows after `cursor`, and the cursor of the next page (null at the end). */
  async page(scope: PersonScope, range: TimelineRange, opts: { limit: number; cursor?: string }, maxTimeMS = this.timeouts.queryMs): Promise<{ items: TimelineEntry[]; nextCursor: string | null }> {
    const limit = Math.max(1, Math.min(TIMELINE_MAX_LIMIT, opts.limit));
    const after = opts.cursor !== undefined && opts.cursor !== '' ? decodeTimelineCursor(opts.cursor) : undefined;
    const perSource = await Promise.all(TIMELINE_SOURCES.map(async (source) => {
      const docs = await this.db.collection(source.collection).find(this.query(source, scope, range, after), { maxTimeMS })
        .sort({ [source.timeField]: 1, _id: 1 }).limit(limit + 1).toArray();
      const rank = SOURCE_RANK.get(source.type) ?? 0;
      return docs.map((doc): Candidate => ({ source, doc, at: doc[source.timeField] as Date, rank }));
    }));
    const merged = perSource.flat().sort(compare);
    const taken = merged.slice(0, limit);
    const last = taken[taken.length - 1];
    const nextCursor = merged.length > limit && last ? encodeTimelineCursor({ at: last.at, type: last.source.type, id: last.doc._id as string }) : null;
    return { items: await this.toEntries(taken, maxTimeMS), nextCursor };
  }

  /** Every row of the range in time order, page by page (exports: memory bounded by one page). */
  async *all(scope: PersonScope, range: TimelineRange): AsyncGenerator<TimelineEntry> {
    let cursor: string | undefined;
    do {
      const page = await this.page(scope, range, { limit: TIMELINE_MAX_LIMIT, cursor }, this.timeouts.exportMs);
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** Every row of one source in the range, in time order, converted in batches (the case export's per-type files). */
  async *ofSource(source: TimelineSource, scope: PersonScope, range: TimelineRange): AsyncGenerator<TimelineEntry> {
    const rank = SOURCE_RANK.get(source.type) ?? 0;
    const cursor = this.db.collection(source.collection).find(this.query(source, scope, range), { maxTimeMS: this.timeouts.exportMs })
      .sort({ [source.timeField]: 1, _id: 1 }).batchSize(TIMELINE_MAX_LIMIT);
    let batch: Candidate[] = [];
    try {
      for await (const doc of cursor) {
        batch.push({ source, doc, at: doc[source.timeField] as Date, rank });
        if (batch.length >= TIMELINE_MAX_LIMIT) {
          yield* await this.toEntries(batch, this.timeouts.queryMs);
          batch = [];
        }
      }
      if (batch.length > 0) yield* await this.toEntries(batch, this.timeouts.queryMs);
    } finally {
      await cursor.close();
    }
  }

  /** Rows with names resolved; voicemails and recordings become their (visible) file with the call or conference. */
  private async toEntries(candidates: Candidate[], maxTimeMS: number): Promise<TimelineEntry[]> {
    const bySource = new Map<TimelineSource, Candidate[]>();
    for (const c of candidates) bySource.set(c.source, [...(bySource.get(c.source) ?? []), c]);
    const out = new Map<Candidate, TimelineEntry>();
    await Promise.all([...bySource].map(async ([source, list]) => {
      const rows = await enrichRows(this.db, this.names, source.def, list.map((c) => toRow(source.def, c.doc)), maxTimeMS);
      if (source.type === 'file') {
        // the uploader may be a staff member or a contact: one look-up for both
        const owners = rows.map((r) => r.ownerId);
        const n = await this.names.names(owners, owners, maxTimeMS);
        for (const r of rows) if (typeof r.ownerId === 'string') r.ownerName = n.get(r.ownerId) ?? null;
      }
      const files = source.fileField ? await this.files(list.map((c): unknown => c.doc[source.fileField as string]), maxTimeMS) : undefined;
      list.forEach((c, i) => {
        const row = rows[i] as Row;
        const base = { type: source.type, label: source.label, at: c.at };
        if (!files) {
          out.set(c, { ...base, link: { list: source.linkList, id: row.id }, item: row, provenance: stampOf(c.doc) });
          return;
        }
        const file = files.get(String(c.doc[source.fileField as string]));
        if (!file) return; // the file record is archived (or was never delivered): hidden like the record itself
        const owner = source.def.name === 'calls' ? { call: row } : { conference: row };
        out.set(c, { ...base, link: { list: source.linkList, id: String(file.fileId) }, item: { ...toRow(LIST_DEFS.files, file), ...owner }, provenance: stampOf(file) });
      });
    }));
    return candidates.map((c) => out.get(c)).filter((e): e is TimelineEntry => e !== undefined);
  }

  private async files(ids: unknown[], maxTimeMS: number): Promise<Map<string, Document>> {
    const wanted = [...new Set(ids.filter((x): x is string => typeof x === 'string'))];
    if (wanted.length === 0) return new Map();
    const docs = await this.db.collection(RECORD_COLLECTIONS.files).find(visible({ fileId: { $in: wanted } }), { maxTimeMS }).toArray();
    return new Map(docs.map((d) => [String(d.fileId), d]));
  }
}
