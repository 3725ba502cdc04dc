import type { Db, Document } from 'mongodb';
import type { FastifyInstance } from 'fastify';
import { LIST_DEFS, RECORD_COLLECTIONS, type ListTypeName } from '../../proxy/portal/queries/types.js';
import { tombstoneId } from '../../proxy/retention/tombstones.js';
import { RETENTION_COLLECTIONS } from '../../proxy/retention/types.js';
import type { GeneratedData } from './retention-data.js';

/**
 * Safety invariants of retention disposition (issue 9, "Safety"), checked against the database (and the portal as an
 * auditor sees it). Each returns human-readable violations; an empty list means the state is safe.
 */

interface FilesDoc { _id: string; length: number; chunkSize: number; metadata?: { archived?: unknown } }

const key = (collection: string, id: unknown): string => `${collection}|${String(id)}`;

async function presentIds(db: Db, collection: string): Promise<Map<string, Document>> {
  const out = new Map<string, Document>();
  for await (const d of db.collection(collection).find({}, { projection: { _id: 1, _archived: 1 } })) out.set(String(d._id), d);
  return out;
}

async function tombstoneIds(db: Db): Promise<Set<string>> {
  const ids = await db.collection<{ _id: string }>(RETENTION_COLLECTIONS.tombstones).find({}, { projection: { _id: 1 } }).toArray();
  return new Set(ids.map((t) => t._id));
}

/**
 * True at EVERY moment, even right after a SIGKILL: no generated record or binary is gone without its tombstone
 * (tombstone first), and no held record or binary is archived or gone.
 */
export async function alwaysInvariants(db: Db, data: GeneratedData, held: ReadonlySet<string>, heldMedia: ReadonlySet<string>): Promise<string[]> {
  const bad: string[] = [];
  const stones = await tombstoneIds(db);
  for (const [col, docs] of data.docs) {
    const present = await presentIds(db, col);
    for (const d of docs) {
      const k = key(col, d._id);
      const now = present.get(String(d._id));
      if (!now && !stones.has(tombstoneId(col, d._id))) bad.push(`${k} gone without a tombstone`);
      if (held.has(k) && (!now || now._archived)) bad.push(`held ${k} ${now ? 'archived' : 'destroyed'}`);
    }
  }
  const files = new Map((await db.collection<FilesDoc>('media.files').find({}, { projection: { metadata: 1 } }).toArray()).map((f) => [f._id, f]));
  for (const path of data.media.keys()) {
    const f = files.get(path);
    if (!f && !stones.has(tombstoneId('media.files', path))) bad.push(`media ${path} gone without a tombstone`);
    if (heldMedia.has(path) && (!f || f.metadata?.archived)) bad.push(`held media ${path} ${f ? 'archived' : 'destroyed'}`);
  }
  return bad;
}

/**
 * True once a run has completed (after a restart): GridFS holds no files document without its chunks and no chunk
 * without its files document; the binary of a destroyed file record is gone unless another file record uses it;
 * no tombstone names a record or binary that still exists.
 */
export async function settledInvariants(db: Db, data: GeneratedData): Promise<string[]> {
  const bad: string[] = [];
  const chunkCounts = new Map<string, number>();
  for await (const c of db.collection<{ files_id: string }>('media.chunks').find({}, { projection: { files_id: 1 } })) chunkCounts.set(c.files_id, (chunkCounts.get(c.files_id) ?? 0) + 1);
  const files = await db.collection<FilesDoc>('media.files').find({}).toArray();
  const filesById = new Set(files.map((f) => f._id));
  for (const f of files) {
    const want = Math.ceil(f.length / f.chunkSize);
    if ((chunkCounts.get(f._id) ?? 0) !== want) bad.push(`media ${f._id}: files document with ${chunkCounts.get(f._id) ?? 0} of ${want} chunks`);
  }
  for (const id of chunkCounts.keys()) if (!filesById.has(id)) bad.push(`media ${id}: chunks without a files document`);
  const recs = await db.collection(RECORD_COLLECTIONS.files).find({}, { projection: { storagePath: 1 } }).toArray();
  const used = new Set(recs.map((r) => String(r.storagePath)));
  for (const d of data.docs.get(RECORD_COLLECTIONS.files) ?? []) {
    const path = String(d.storagePath);
    if (!recs.some((r) => String(r._id) === String(d._id)) && !used.has(path) && filesById.has(path)) bad.push(`media ${path} of destroyed file record ${String(d._id)} left behind`);
  }
  const stones = await db.collection<{ _id: string; collection: string; recordId: unknown }>(RETENTION_COLLECTIONS.tombstones).find({}).toArray();
  for (const t of stones) {
    const still = t.collection === 'media.files' ? filesById.has(String(t.recordId)) : (await db.collection(t.collection).countDocuments({ _id: t.recordId as never })) > 0;
    if (still) bad.push(`tombstone ${t._id} names a ${t.collection === 'media.files' ? 'binary' : 'record'} that still exists`);
  }
  return bad;
}

/** Runs left 'planning' or 'running' (once every run process has exited, each of them was cut short). */
export async function openRuns(db: Db): Promise<string[]> {
  const open = await db.collection<{ _id: string }>(RETENTION_COLLECTIONS.runs).find({ state: { $in: ['planning', 'running'] } }, { projection: { _id: 1 } }).toArray();
  return open.map((r) => r._id);
}

/** Record list types an auditor can page through (voicemails and recordings are views of files). */
const AUDITOR_LISTS: readonly ListTypeName[] = ['enquiries', 'rooms', 'calls', 'conferences', 'files', 'voicemails', 'recordings', 'messages', 'staff', 'contacts'];

/**
 * Pages through every auditor list of the portal and reports any row whose record is archived in the database, and
 * any archived binary (up to `mediaSamples`) that the media URL still serves.
 */
export async function auditorSeesNoArchived(app: FastifyInstance, headers: Record<string, string>, db: Db, mediaSamples = 3): Promise<string[]> {
  const bad: string[] = [];
  for (const type of AUDITOR_LISTS) {
    const def = LIST_DEFS[type];
    const archived = new Set((await db.collection(def.collection).find({ _archived: { $exists: true } }, { projection: { [def.idField]: 1 } }).toArray()).map((d) => String(d[def.idField])));
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/${type}?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await app.inject({ method: 'GET', url, headers });
      if (res.statusCode !== 200) {
        bad.push(`GET ${url} -> ${res.statusCode} ${res.body.slice(0, 200)}`);
        break;
      }
      const page = res.json<{ items: { id: string }[]; nextCursor: string | null }>();
      for (const row of page.items) if (archived.has(String(row.id))) bad.push(`auditor list ${type} shows archived ${row.id}`);
      cursor = page.nextCursor;
    } while (cursor);
  }
  const archivedMedia = await db.collection<FilesDoc>('media.files').find({ 'metadata.archived': { $exists: true } }, { projection: { _id: 1 } }).limit(mediaSamples).toArray();
  for (const m of archivedMedia) {
    const rec = await db.collection(RECORD_COLLECTIONS.files).findOne({ storagePath: m._id }, { projection: { fileId: 1 } });
    if (!rec) continue;
    const res = await app.inject({ method: 'GET', url: `/api/v1/media/${encodeURIComponent(String(rec.fileId))}`, headers });
    if (res.statusCode !== 404) bad.push(`auditor media URL of archived ${m._id} -> ${res.statusCode}`);
  }
  return bad;
}
