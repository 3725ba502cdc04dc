import type { Db, Document } from 'mongodb';
import { ProxyError } from '../errors.js';
import { RECORD_COLLECTIONS } from '../portal/queries/types.js';
import { DATA_TYPE_DEFS } from './data-types.js';
import type { DataType, Hold } from './types.js';


/** What one hold covers, resolved ("what hangs off" its people, rooms and enquiries). */
interface Coverage {
  everything: boolean;
  people: string[];
  rooms: string[];
  enquiries: string[];
  messages: string[];
  calls: string[];
  conferences: string[];
  from?: Date;
  to?: Date;
}

/**
 * Most ids one resolved list of a hold may have: every list goes into `$in` filters of every batch's writes (16 MiB
 * command limit) and is kept in memory per batch. A bigger hold fails with HOLD_TOO_LARGE (placement refused; a run
 * fails rather than write without it): narrow it, or hold the rooms instead of the people.
 */
export const MAX_HOLD_IDS = 50_000;

async function distinctOf(db: Db, collection: string, filter: Document, field: string, max: number): Promise<string[]> {
  const out = new Set<string>();
  const cursor = db.collection(collection).find(filter, { projection: { _id: 0, [field]: 1 } }).batchSize(1000);
  try {
    for await (const d of cursor) {
      const v: unknown = d[field];
      if (typeof v !== 'string' || v === '') continue;
      out.add(v);
      if (out.size > max) {
        throw new ProxyError('HOLD_TOO_LARGE', `the hold covers more than ${max} ${field} values in ${collection}; narrow it (fewer people, a date range) or hold their rooms instead`);
      }
    }
  } finally {
    await cursor.close();
  }
  return [...out];
}

/** Resolves people P, rooms R, enquiries E of a hold, and the messages/calls/conferences of P (for their files). */
export async function resolveCoverage(db: Db, hold: Hold, max = MAX_HOLD_IDS): Promise<Coverage> {
  const s = hold.scope;
  const range = { ...(s.from ? { from: s.from } : {}), ...(s.to ? { to: s.to } : {}) };
  const people = [...new Set([...(s.staff ?? []), ...(s.contacts ?? [])])];
  const givenRooms = s.rooms ?? [];
  const givenEnquiries = s.enquiries ?? [];
  if (people.length === 0 && givenRooms.length === 0 && givenEnquiries.length === 0) {
    return { everything: true, people: [], rooms: [], enquiries: [], messages: [], calls: [], conferences: [], ...range };
  }
  const enquiries = people.length === 0 ? givenEnquiries : [
    ...new Set([...givenEnquiries, ...(await distinctOf(db, RECORD_COLLECTIONS.enquiries, { $or: [{ 'customer.contactId': { $in: people } }, { assignee: { $in: people } }] }, 'enquiryId', max))]),
  ];
  const [roomsOfPeople, roomsOfEnquiries] = await Promise.all([
    people.length === 0 ? [] : distinctOf(db, RECORD_COLLECTIONS.rooms, { 'participants.id': { $in: people } }, 'roomId', max),
    enquiries.length === 0 ? [] : distinctOf(db, RECORD_COLLECTIONS.enquiries, { enquiryId: { $in: enquiries } }, 'roomId', max),
  ]);
  const rooms = [...new Set([...givenRooms, ...roomsOfPeople, ...roomsOfEnquiries])];
  const [messages, calls, conferences] = await Promise.all([
    people.length === 0 ? [] : distinctOf(db, RECORD_COLLECTIONS.messages, { 'sender.id': { $in: people } }, 'messageId', max),
    distinctOf(db, RECORD_COLLECTIONS.calls, { $or: [{ 'from.id': { $in: people } }, { 'to.id': { $in: people } }, { enquiryId: { $in: enquiries } }] }, 'callId', max),
    people.length === 0 ? [] : distinctOf(db, RECORD_COLLECTIONS.conferences, { $or: [{ host: { $in: people } }, { 'participants.id': { $in: people } }] }, 'conferenceId', max),
  ]);
  return { everything: false, people, rooms, enquiries, messages, calls, conferences, ...range };
}

const inList = (field: string, ids: string[]): Document[] => (ids.length === 0 ? [] : [{ [field]: { $in: ids } }]);

/** The filter (on the data type's record collection; media: on the file records) of what one hold covers, or null. */
export function coverageFilter(type: DataType, c: Coverage): Document | null {
  const def = DATA_TYPE_DEFS[type];
  let alternatives: Document[];
  if (c.everything) alternatives = [{}];
  else {
    switch (def.kind === 'media' ? 'files' : type) {
      case 'staff': alternatives = inList('staffId', c.people); break;
      case 'contacts': alternatives = inList('contactId', c.people); break;
      case 'enquiries': alternatives = [...inList('enquiryId', c.enquiries), ...inList('roomId', c.rooms)]; break;
      case 'rooms': alternatives = inList('roomId', c.rooms); break;
      case 'messages': alternatives = [...inList('roomId', c.rooms), ...inList('enquiryId', c.enquiries), ...inList('sender.id', c.people)]; break;
      case 'calls': alternatives = [...inList('roomId', c.rooms), ...inList('enquiryId', c.enquiries), ...inList('from.id', c.people), ...inList('to.id', c.people)]; break;
      case 'conferences': alternatives = [...inList('roomId', c.rooms), ...inList('host', c.people), ...inList('participants.id', c.people)]; break;
      case 'files': // file records and their media
      case 'media:room-file': case 'media:voicemail': case 'media:call-recording': case 'media:conference-recording': case 'media:avatar': case 'media:tag-icon':
        alternatives = [...inList('roomId', c.rooms), ...inList('ownerId', c.people), ...inList('messageId', c.messages), ...inList('callId', c.calls), ...inList('conferenceId', c.conferences)];
    }
  }
  if (alternatives.length === 0) return null;
  const covered: Document = alternatives.length === 1 ? (alternatives[0] as Document) : { $or: alternatives };
  // A date range limits by the clock date. Staff and contacts have no stored clock date: a hold with a range keeps
  // all of them that its people cover (or all of them, for a range-only hold): holding too much is the safe side.
  if ((c.from || c.to) && def.clockField) {
    const range = { [def.clockField]: { ...(c.from ? { $gte: c.from } : {}), ...(c.to ? { $lte: c.to } : {}) } };
    return Object.keys(covered).length === 0 ? range : { $and: [covered, range] };
  }
  return covered;
}

/** The active holds, resolved once; per data type the filter of everything they hold. Build one per batch. */
export class HoldSet {
  private constructor(readonly holds: readonly Hold[], private readonly coverage: readonly Coverage[]) {}

  static async load(db: Db, holds: readonly Hold[]): Promise<HoldSet> {
    return new HoldSet(holds, await Promise.all(holds.map((h) => resolveCoverage(db, h))));
  }

  /** Per hold: its filter for this type (null: it holds nothing of it). */
  filters(type: DataType): { hold: Hold; filter: Document }[] {
    const out: { hold: Hold; filter: Document }[] = [];
    this.holds.forEach((hold, i) => {
      const filter = coverageFilter(type, this.coverage[i] as Coverage);
      if (filter) out.push({ hold, filter });
    });
    return out;
  }

  /** Matches records some hold covers (null: none is held). */
  held(type: DataType): Document | null {
    const f = this.filters(type).map((x) => x.filter);
    if (f.length === 0) return null;
    return f.length === 1 ? (f[0] as Document) : { $or: f };
  }

  /** Matches records no hold covers: part of every archive and destroy write. */
  exclusion(type: DataType): Document {
    const f = this.filters(type).map((x) => x.filter);
    return f.length === 0 ? {} : { $nor: f };
  }
}
