import type { Db, Document } from 'mongodb';
import { parseArchiveName } from '../../../proxy/archive/archive-name.js';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import type { DataType, Hold, Policy, RecordDataType } from '../../../proxy/retention/types.js';
import type { GeneratedData } from '../../helpers/retention-data.js';
import { tombstoneId } from '../../../proxy/retention/tombstones.js';
import { BSON } from 'mongodb';

/**
 * An independent, in-memory statement of the retention rules (docs/retention.md), written from the design and not
 * from the implementation: which policy wins for each record, what the holds cover, and where each record and each
 * binary must end after an enforcing run.
 */
export type Outcome = 'keep' | 'archive' | 'destroy';

const DAY = 86_400_000;
const TYPE_OF_COLLECTION: Record<string, RecordDataType> = Object.fromEntries(Object.entries(RECORD_COLLECTIONS).map(([t, c]) => [c, t as RecordDataType]));
const CLOCK: Partial<Record<RecordDataType, string>> = { enquiries: 'closedAt', rooms: 'createdAt', messages: 'sentAt', calls: 'startedAt', conferences: 'startedAt', files: 'uploadedAt' };
const ROOMED = new Set(['rooms', 'messages', 'calls', 'conferences', 'files']);

const get = (d: Document, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined), d);
const ids = (v: unknown): string[] => (Array.isArray(v) ? v.map((x: unknown) => String(typeof x === 'object' && x !== null ? (x as { id?: string }).id : (x as string))) : []);

export function clockOf(type: RecordDataType, d: Document): Date | null {
  const f = CLOCK[type];
  if (f) return d[f] instanceof Date ? (d[f]) : null;
  return parseArchiveName(String((d._retention as { archive?: string } | undefined)?.archive))?.createdAt ?? null;
}

function covers(p: Policy, type: RecordDataType, d: Document): boolean {
  const s = p.scope;
  if (s.kind === 'all') return true;
  if (s.kind === 'room') return ROOMED.has(type) && s.ids.includes(String(d.roomId));
  if (s.kind === 'department') return type === 'staff' && s.values.includes(String(d.department));
  return type === 'enquiries' && s.values.includes(String(d.channel));
}

function win(policies: Policy[]): Policy | undefined {
  return [...policies].sort((a, b) => (b.activeDays + b.archiveDays) - (a.activeDays + a.archiveDays) || b.activeDays - a.activeDays || (a._id < b._id ? -1 : 1))[0];
}

export function heldBy(data: GeneratedData, holds: Hold[]): (type: RecordDataType, d: Document) => boolean {
  const all = (c: string): Document[] => data.docs.get(c) ?? [];
  const tests = holds.filter((h) => !h.releasedAt).map((h) => {
    const s = h.scope;
    const P = new Set([...(s.staff ?? []), ...(s.contacts ?? [])]);
    const everything = P.size === 0 && !s.rooms?.length && !s.enquiries?.length;
    const E = new Set([...(s.enquiries ?? []), ...all(RECORD_COLLECTIONS.enquiries).filter((e) => P.has(String(get(e, 'customer.contactId'))) || P.has(String(e.assignee))).map((e) => String(e.enquiryId))]);
    const R = new Set([
      ...(s.rooms ?? []),
      ...all(RECORD_COLLECTIONS.rooms).filter((r) => ids(r.participants).some((x) => P.has(x))).map((r) => String(r.roomId)),
      ...all(RECORD_COLLECTIONS.enquiries).filter((e) => E.has(String(e.enquiryId))).map((e) => String(e.roomId)),
    ]);
    const M = new Set(all(RECORD_COLLECTIONS.messages).filter((m) => P.has(String(get(m, 'sender.id')))).map((m) => String(m.messageId)));
    const C = new Set(all(RECORD_COLLECTIONS.calls).filter((c) => P.has(String(get(c, 'from.id'))) || P.has(String(get(c, 'to.id'))) || E.has(String(c.enquiryId))).map((c) => String(c.callId)));
    const K = new Set(all(RECORD_COLLECTIONS.conferences).filter((c) => P.has(String(c.host)) || ids(c.participants).some((x) => P.has(x))).map((c) => String(c.conferenceId)));
    return (type: RecordDataType, d: Document): boolean => {
      const clock = CLOCK[type] ? clockOf(type, d) : undefined;
      if (clock !== undefined && (s.from || s.to)) {
        if (!clock || (s.from && clock < s.from) || (s.to && clock > s.to)) return false;
      }
      if (everything) return true;
      const has = (set: Set<string>, v: unknown): boolean => set.has(String(v));
      switch (type) {
        case 'staff': return has(P, d.staffId);
        case 'contacts': return has(P, d.contactId);
        case 'enquiries': return has(E, d.enquiryId) || has(R, d.roomId);
        case 'rooms': return has(R, d.roomId);
        case 'messages': return has(R, d.roomId) || has(E, d.enquiryId) || has(P, get(d, 'sender.id'));
        case 'calls': return has(R, d.roomId) || has(E, d.enquiryId) || has(P, get(d, 'from.id')) || has(P, get(d, 'to.id'));
        case 'conferences': return has(R, d.roomId) || has(P, d.host) || ids(d.participants).some((x) => P.has(x));
        case 'files': return has(R, d.roomId) || has(P, d.ownerId) || has(M, d.messageId) || has(C, d.callId) || has(K, d.conferenceId);
      }
    };
  });
  return (type, d) => tests.some((t) => t(type, d));
}

function outcome(w: Policy | undefined, clock: Date | null, held: boolean, now: Date): Outcome {
  if (!w || w.mode !== 'enforce' || held || !clock) return 'keep';
  if (clock.getTime() + (w.activeDays + w.archiveDays) * DAY <= now.getTime()) return 'destroy';
  if (clock.getTime() + w.activeDays * DAY <= now.getTime()) return 'archive';
  return 'keep';
}

/** Expected outcome per record (`<collection>|<String(_id)>`) and per binary (storagePath). */
export function expectedOutcomes(data: GeneratedData, policies: Policy[], holds: Hold[]): { records: Map<string, Outcome>; media: Map<string, Outcome>; held: Set<string> } {
  const held = heldBy(data, holds);
  const records = new Map<string, Outcome>();
  const media = new Map<string, Outcome>();
  const heldKeys = new Set<string>();
  for (const [col, docs] of data.docs) {
    const type = TYPE_OF_COLLECTION[col] as RecordDataType;
    for (const d of docs) {
      const key = `${col}|${String(d._id)}`;
      const h = held(type, d);
      if (h) heldKeys.add(key);
      const o = outcome(win(policies.filter((p) => p.dataType === type && covers(p, type, d))), clockOf(type, d), h, data.now);
      records.set(key, o);
      if (type === 'files') {
        const mt = `media:${String(d.category)}` as DataType;
        const m = o === 'destroy' ? 'destroy' : outcome(win(policies.filter((p) => p.dataType === mt && covers(p, 'files', d))), clockOf('files', d), h, data.now);
        media.set(String(d.storagePath), m);
      }
    }
  }
  return { records, media, held: heldKeys };
}

/**
 * Every way the database differs from the expected outcomes (empty = as the rules say): records destroyed with a
 * tombstone carrying their sha256, archived with nothing else changed, or untouched; binaries likewise; no chunk
 * without its files document.
 */
export async function outcomeProblems(db: Db, data: GeneratedData, expected: ReturnType<typeof expectedOutcomes>): Promise<string[]> {
  const problems: string[] = [];
  const ej = (v: unknown): string => BSON.EJSON.stringify(v, { relaxed: false });
  const stones = new Map((await db.collection<{ _id: string; sha256?: string }>('retention.tombstones').find({}).toArray()).map((t) => [t._id, t]));
  for (const [col, docs] of data.docs) {
    const stored = new Map((await db.collection(col).find({}).toArray()).map((d) => [ej(d._id), d]));
    for (const d of docs) {
      const key = `${col}|${String(d._id)}`;
      const want = expected.records.get(key);
      const now = stored.get(ej(d._id));
      const stone = stones.get(tombstoneId(col, d._id));
      if (want === 'destroy') {
        if (now) problems.push(`${key}: should be destroyed`);
        if (stone?.sha256 !== (d._retention as { sha256: string }).sha256) problems.push(`${key}: no tombstone with its sha256`);
        continue;
      }
      if (!now) {
        problems.push(`${key}: gone, expected ${String(want)}`);
        continue;
      }
      if (stone) problems.push(`${key}: tombstone but still there`);
      if (Boolean(now._archived) !== (want === 'archive')) problems.push(`${key}: archived=${String(Boolean(now._archived))}, expected ${String(want)}`);
      const { _archived, ...rest } = now;
      if (ej(rest) !== ej(d)) problems.push(`${key}: content changed`);
    }
  }
  const files = new Map((await db.collection<{ _id: string; metadata?: { archived?: unknown } }>('media.files').find({}).toArray()).map((f) => [f._id, f]));
  const withChunks = new Set((await db.collection('media.chunks').distinct('files_id')).map(String));
  for (const [path, want] of expected.media) {
    const stored = files.get(path);
    if (want === 'destroy') {
      if (stored || withChunks.has(path)) problems.push(`${path}: binary should be destroyed (files ${String(Boolean(stored))}, chunks ${String(withChunks.has(path))})`);
      if (!stones.has(tombstoneId('media.files', path))) problems.push(`${path}: no media tombstone`);
    } else {
      if (!stored || !withChunks.has(path)) problems.push(`${path}: binary missing, expected ${want}`);
      if (Boolean(stored?.metadata?.archived) !== (want === 'archive')) problems.push(`${path}: archived=${String(Boolean(stored?.metadata?.archived))}, expected ${want}`);
    }
  }
  for (const owner of withChunks) if (!files.has(owner)) problems.push(`${owner}: chunks without a files document (orphaned media)`);
  return problems;
}

/** Records and binaries that are gone without a tombstone (must never happen, even right after a SIGKILL). */
export async function goneWithoutTombstone(db: Db, data: GeneratedData): Promise<string[]> {
  const ej = (v: unknown): string => BSON.EJSON.stringify(v, { relaxed: false });
  const stones = new Set((await db.collection<{ _id: string }>('retention.tombstones').find({}, { projection: { _id: 1 } }).toArray()).map((t) => t._id));
  const out: string[] = [];
  for (const [col, docs] of data.docs) {
    const there = new Set((await db.collection(col).find({}, { projection: { _id: 1 } }).toArray()).map((d) => ej(d._id)));
    for (const d of docs) if (!there.has(ej(d._id)) && !stones.has(tombstoneId(col, d._id))) out.push(`${col}|${String(d._id)}`);
  }
  const files = new Set((await db.collection<{ _id: string }>('media.files').find({}, { projection: { _id: 1 } }).toArray()).map((f) => f._id));
  for (const path of data.media.keys()) if (!files.has(path) && !stones.has(tombstoneId('media.files', path))) out.push(path);
  return out;
}
