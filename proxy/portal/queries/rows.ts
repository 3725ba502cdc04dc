import type { Db, Document } from 'mongodb';
import { RETENTION_FIELD } from '../../importer/index.js';
import { readRoomActivity } from '../room-stats.js';
import type { NameResolver } from './names.js';
import { RECORD_COLLECTIONS, type ListTypeDef } from './types.js';
import { visible } from './visible.js';

export type Row = Record<string, unknown> & { id: string };

/** A stored document as an API row: `id` = business id; `_id` and the `_retention` stamp removed. */
export function toRow(def: Pick<ListTypeDef, 'idField'>, doc: Document): Row {
  const { _id, [RETENTION_FIELD]: _stamp, ...rest } = doc;
  return { id: String(doc[def.idField] ?? _id), ...rest };
}

interface Party { kind?: string; id?: string; [k: string]: unknown }
const parties = (rows: Row[], key: string): Party[] => rows.flatMap((r) => (Array.isArray(r[key]) ? (r[key] as Party[]) : []));
const partyOf = (r: Row, key: string): Party | undefined => (typeof r[key] === 'object' && r[key] !== null ? (r[key] as Party) : undefined);

function split(list: (Party | undefined)[]): { staff: string[]; contacts: string[] } {
  const staff: string[] = [];
  const contacts: string[] = [];
  for (const p of list) {
    if (!p?.id) continue;
    (p.kind === 'contact' ? contacts : staff).push(p.id);
  }
  return { staff, contacts };
}

/** The call or conference a voicemail or recording belongs to, with the parties' names (rows show people, not ids). */
async function fileOwners(db: Db, names: NameResolver, rows: Row[], maxTimeMS: number): Promise<void> {
  const callIds = rows.map((r) => r.callId).filter((x): x is string => typeof x === 'string');
  const confIds = rows.map((r) => r.conferenceId).filter((x): x is string => typeof x === 'string');
  const [calls, confs] = await Promise.all([
    callIds.length === 0 ? [] : db.collection(RECORD_COLLECTIONS.calls).find(visible({ callId: { $in: callIds } }), { projection: { _id: 0, callId: 1, from: 1, to: 1, startedAt: 1, durationSec: 1, direction: 1, result: 1 }, maxTimeMS }).toArray(),
    confIds.length === 0 ? [] : db.collection(RECORD_COLLECTIONS.conferences).find(visible({ conferenceId: { $in: confIds } }), { projection: { _id: 0, conferenceId: 1, title: 1, startedAt: 1, durationSec: 1, 'participants.kind': 1, 'participants.id': 1, 'participants.name': 1 }, maxTimeMS }).toArray(),
  ]);
  const ps = split(calls.flatMap((c) => [c.from as Party | undefined, c.to as Party | undefined]));
  const n = await names.names(ps.staff, ps.contacts, maxTimeMS);
  for (const c of calls) {
    for (const key of ['from', 'to']) {
      const p = c[key] as Party | undefined;
      if (p && typeof p === 'object') c[key] = { ...p, name: (p.id && n.get(p.id)) ?? null };
    }
  }
  const callById = new Map(calls.map((c) => [String(c.callId), c]));
  const confById = new Map(confs.map((c) => [String(c.conferenceId), c]));
  for (const r of rows) {
    if (typeof r.callId === 'string' && callById.has(r.callId)) r.call = callById.get(r.callId);
    if (typeof r.conferenceId === 'string' && confById.has(r.conferenceId)) r.conference = confById.get(r.conferenceId);
  }
}

/**
 * Adds what a row of this type shows beyond its document: resolved names, counts, the call a file belongs to. Every
 * query it sends is limited to maxTimeMS on the server (portal.queryTimeoutMs).
 */
export async function enrichRows(db: Db, names: NameResolver, def: ListTypeDef, rows: Row[], maxTimeMS: number): Promise<Row[]> {
  if (rows.length === 0) return rows;
  switch (def.name) {
    case 'enquiries': {
      const n = await names.names(rows.map((r) => r.assignee), [], maxTimeMS);
      for (const r of rows) if (typeof r.assignee === 'string') r.assigneeName = n.get(r.assignee) ?? null;
      return rows;
    }
    case 'rooms': {
      const ps = split(parties(rows, 'participants'));
      const [n, activity] = await Promise.all([names.names(ps.staff, ps.contacts, maxTimeMS), readRoomActivity(db, rows.map((r) => r.id), maxTimeMS)]);
      for (const r of rows) {
        r.participants = parties([r], 'participants').map((p) => ({ ...p, name: (p.id && n.get(p.id)) ?? null }));
        Object.assign(r, activity.get(r.id));
      }
      return rows;
    }
    case 'calls': {
      const ps = split(rows.flatMap((r) => [partyOf(r, 'from'), partyOf(r, 'to')]));
      const n = await names.names(ps.staff, ps.contacts, maxTimeMS);
      for (const r of rows) {
        for (const key of ['from', 'to']) {
          const p = partyOf(r, key);
          if (p) r[key] = { ...p, name: (p.id && n.get(p.id)) ?? null };
        }
      }
      return rows;
    }
    case 'conferences': {
      const n = await names.names(rows.map((r) => r.host), [], maxTimeMS);
      for (const r of rows) if (typeof r.host === 'string') r.hostName = n.get(r.host) ?? null;
      return rows;
    }
    case 'voicemails':
    case 'recordings':
      await fileOwners(db, names, rows, maxTimeMS);
      return rows;
    case 'files':
    case 'messages':
    case 'staff':
    case 'contacts':
    case 'audit':
      return rows;
  }
}
