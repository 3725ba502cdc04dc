import type { Db, Document } from 'mongodb';
import { ProxyError } from '../../errors.js';
import type { NameResolver } from './names.js';
import { containsText } from './regex.js';
import { RECORD_COLLECTIONS, type ListTypeDef, type ListQuery } from './types.js';
import { visible } from './visible.js';

/** Which of a call's or conference's file ids a media list shows. */
const CALL_FILE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  voicemails: ['voicemailFileId'],
  recordings: ['recordingFileId'],
};

type Who = { ids: string[] } | { text: string };

/**
 * Voicemails and recordings are found by the people on their call or conference: the ids of the files whose call
 * (from/to) or conference (participants) has one of `ids` as a party, or (`text`) whose parties' names or numbers
 * contain it. One query per call file field and one on conferences (recordings), each indexed by party id or
 * number where the portal's indexes allow, restricted to the list's from/to on their startedAt (a voicemail's or
 * recording's list date is its call's or conference's start). At most `maxIds` ids: beyond, 400 QUERY_TOO_BROAD
 * instead of an unbounded read and `$in`.
 */
async function filesOfParties(db: Db, names: NameResolver, def: ListTypeDef, who: Who, range: Document | undefined, maxTimeMS: number, maxIds: number): Promise<string[]> {
  const callFields = CALL_FILE_FIELDS[def.name] ?? [];
  let callFilter: Document;
  let confFilter: Document;
  if ('ids' in who) {
    callFilter = { $or: [{ 'from.id': { $in: who.ids } }, { 'to.id': { $in: who.ids } }] };
    confFilter = { 'participants.id': { $in: who.ids } };
  } else {
    const named = await names.idsNamed(who.text, undefined, maxTimeMS);
    const text = containsText(who.text);
    callFilter = { $or: [{ 'from.number': text }, { 'to.number': text }, ...(named.length > 0 ? [{ 'from.id': { $in: named } }, { 'to.id': { $in: named } }] : [])] };
    confFilter = { $or: [{ 'participants.name': text }, { 'participants.number': text }, ...(named.length > 0 ? [{ 'participants.id': { $in: named } }] : [])] };
  }
  // find, not distinct: FerretDB 1.24's distinct refuses maxTimeMS.
  const values = async (collection: string, filter: Document, field: string): Promise<unknown[]> => {
    const and = [filter, { [field]: { $type: 'string' } }, ...(range ? [{ startedAt: range }] : [])];
    const docs = await db.collection(collection).find(visible({ $and: and }), { projection: { _id: 0, [field]: 1 }, maxTimeMS }).limit(maxIds + 1).toArray();
    if (docs.length > maxIds) throw tooBroad(maxIds);
    return docs.map((d): unknown => d[field]);
  };
  const lists = await Promise.all([
    ...callFields.map((f) => values(RECORD_COLLECTIONS.calls, callFilter, f)),
    ...(def.name === 'recordings' ? [values(RECORD_COLLECTIONS.conferences, confFilter, 'recordingFileId')] : []),
  ]);
  const ids = [...new Set(lists.flat().filter((x): x is string => typeof x === 'string'))];
  if (ids.length > maxIds) throw tooBroad(maxIds);
  return ids;
}

const tooBroad = (maxIds: number): ProxyError => new ProxyError('QUERY_TOO_BROAD', `more than ${maxIds} calls or conferences match`);

/** The list's from/to as a startedAt condition of the calls and conferences (undefined when neither is a date). */
function rangeOf(query: ListQuery): Document | undefined {
  const at = (v: unknown): Date | undefined => (typeof v === 'string' && v !== '' && !Number.isNaN(new Date(v).getTime()) ? new Date(v) : undefined);
  const from = at(query.from);
  const to = at(query.to);
  return from || to ? { ...(from ? { $gte: from } : {}), ...(to ? { $lte: to } : {}) } : undefined;
}

/**
 * The conditions a media list's `staff`/`contact` parameters (kind `party`) and its `q` add: `and` (every given
 * party), `text` (alternatives of `q`: names and numbers of the parties).
 */
export async function partyConditions(db: Db, names: NameResolver, def: ListTypeDef, query: ListQuery, maxTimeMS: number, maxIds: number): Promise<{ and: Document[]; text: Document[] }> {
  const and: Document[] = [];
  const text: Document[] = [];
  if (!(def.name in CALL_FILE_FIELDS)) return { and, text };
  const range = rangeOf(query);
  for (const [param, match] of Object.entries(def.params)) {
    const v = query[param];
    if (match.kind !== 'party' || typeof v !== 'string' || v === '') continue;
    and.push({ fileId: { $in: await filesOfParties(db, names, def, { ids: [v] }, range, maxTimeMS, maxIds) } });
  }
  if (typeof query.q === 'string' && query.q !== '') text.push({ fileId: { $in: await filesOfParties(db, names, def, { text: query.q }, range, maxTimeMS, maxIds) } });
  return { and, text };
}
