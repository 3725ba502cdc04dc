import type { Db, Document } from 'mongodb';
import { safeEntryName, type ZipPart } from '../portal/export/zip-export.js';
import { toRow } from '../portal/queries/rows.js';
import { DATA_TYPE_DEFS } from './data-types.js';
import { HoldSet } from './hold-filter.js';
import { RECORD_DATA_TYPES, type Hold } from './types.js';

const BATCH = 200;

async function* rowsOf(db: Db, collection: string, idField: string, filter: Document): AsyncGenerator<unknown> {
  const cursor = db.collection(collection).find(filter).batchSize(BATCH);
  try {
    for await (const doc of cursor) yield { ...toRow({ idField }, doc), _retention: doc._retention as unknown };
  } finally {
    await cursor.close();
  }
}

/**
 * Everything one hold covers, as ZIP parts: `records/<type>.json` (rows with their `_retention` provenance, archived
 * ones included: a hold is about all the data) and `media/<category>/<fileId>` for the held file records' binaries.
 */
export async function* holdExportParts(db: Db, hold: Hold): AsyncGenerator<ZipPart> {
  const set = await HoldSet.load(db, [hold]);
  yield { path: 'hold.json', json: hold };
  for (const type of RECORD_DATA_TYPES) {
    const filter = set.held(type);
    if (!filter) continue;
    const def = DATA_TYPE_DEFS[type];
    yield { path: `records/${type}.json`, rows: rowsOf(db, def.collection, def.idField, filter) };
  }
  const files = set.held('files');
  if (!files) return;
  const cursor = db.collection(DATA_TYPE_DEFS.files.collection).find({ $and: [files, { storagePath: { $type: 'string' } }] }, { projection: { fileId: 1, category: 1, name: 1 } }).batchSize(BATCH);
  try {
    for await (const f of cursor) {
      if (typeof f.fileId !== 'string') continue;
      // Vendor fields become entry names: each part made safe (no directories, no traversal).
      yield { path: `media/${safeEntryName(String(f.category ?? 'file'))}/${safeEntryName(f.fileId)}`, media: { fileId: f.fileId, includeArchived: true } };
    }
  } finally {
    await cursor.close();
  }
}
