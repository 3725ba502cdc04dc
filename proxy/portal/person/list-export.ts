import type { Db, Document } from 'mongodb';
import { ProxyError } from '../../errors.js';
import { RETENTION_FIELD, type RetentionStamp } from '../../importer/index.js';
import { buildListQuery } from '../queries/build.js';
import { valueAt, type ListService } from '../queries/list-service.js';
import { toRow } from '../queries/rows.js';
import { LIST_DEFS, LIST_TYPES, pathOf, type ListQuery, type ListTypeDef, type ListTypeName } from '../queries/types.js';
import type { EntryType, TimelineEntry } from './timeline.js';

const BATCH = 200;

/** The entry type of a list's row. */
function typeOf(def: ListTypeDef, doc: Document): EntryType {
  switch (def.name) {
    case 'enquiries': return 'enquiry';
    case 'messages': return 'message';
    case 'calls': return 'call';
    case 'conferences': return 'conference';
    case 'files': return 'file';
    case 'voicemails': return 'voicemail';
    case 'recordings': return doc.category === 'conference-recording' ? 'conference-recording' : 'call-recording';
    case 'rooms': return 'room';
    case 'staff': return 'staff-member';
    case 'contacts':
    case 'audit': return 'contact';
  }
}

const LABELS: Readonly<Record<ListTypeName, string>> = {
  enquiries: 'Enquiry', rooms: 'Room', calls: 'Call', conferences: 'Conference', files: 'File', voicemails: 'Voicemail',
  recordings: 'Recording', messages: 'Message', staff: 'Staff member', contacts: 'Contact',
};

/**
 * Checks a list's filters as its list route would (only its own parameters, plain strings, a valid sort): a case
 * export of "this list, as filtered" stores them and replays them at download.
 */
export function checkListFilters(type: string, filters: Record<string, unknown>): { def: ListTypeDef; query: ListQuery } {
  if (!(LIST_TYPES as readonly string[]).includes(type)) throw new ProxyError('VALIDATION', `list.type must be one of ${LIST_TYPES.join(', ')}`);
  const def = LIST_DEFS[type as ListTypeName];
  const allowed = new Set(['q', 'sort', 'order', ...(def.dateField ? ['from', 'to'] : []), ...Object.keys(def.params)]);
  const query: ListQuery = {};
  for (const [k, v] of Object.entries(filters)) {
    if (!allowed.has(k)) throw new ProxyError('VALIDATION', `list.filters.${k} is not a filter of ${type}`);
    if (typeof v !== 'string' || v.length > 200) throw new ProxyError('VALIDATION', `list.filters.${k} must be a string`);
    query[k] = v;
  }
  buildListQuery(def, query); // validates dates, sort and order
  return { def, query };
}

/**
 * Every row of a filtered list, as timeline entries with their provenance, in the list's order, in batches. The
 * filter is the list's own (ListService.filter: party and name conditions included), so the export holds exactly
 * the rows the list shows.
 */
export async function* listEntries(db: Db, lists: ListService, def: ListTypeDef, query: ListQuery): AsyncGenerator<TimelineEntry> {
  const built = await lists.filter(def, { ...query, cursor: undefined });
  const cursor = db.collection(def.collection).find(built.filter, { maxTimeMS: lists.timeouts.exportMs }).sort(built.sort).batchSize(BATCH);
  let batch: Document[] = [];
  const flush = async (): Promise<TimelineEntry[]> => {
    const rows = await lists.enrich(def, batch.map((d) => toRow(def, d)));
    const out = batch.map((doc, i): TimelineEntry => {
      const item = rows[i] ?? toRow(def, doc);
      // the list's date at its stored path (voicemails, recordings: `_retention.callAt`)
      const at = def.dateField ? valueAt(doc, pathOf(def, def.dateField)) : null;
      return {
        type: typeOf(def, doc), label: LABELS[def.name as ListTypeName], at: at instanceof Date ? at : null,
        link: { list: def.name as TimelineEntry['link']['list'], id: item.id }, item, provenance: (doc[RETENTION_FIELD] as RetentionStamp | undefined) ?? null,
      };
    });
    batch = [];
    return out;
  };
  try {
    for await (const doc of cursor) {
      batch.push(doc);
      if (batch.length >= BATCH) yield* await flush();
    }
    if (batch.length > 0) yield* await flush();
  } finally {
    await cursor.close();
  }
}
