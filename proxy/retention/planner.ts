import { BSON, type Db, type Document, type FindCursor } from 'mongodb';
import { DATA_TYPE_DEFS, MEDIA_FILES, type DataTypeDef } from './data-types.js';
import type { HoldSet } from './hold-filter.js';
import { and, dueFilters } from './selection.js';
import { MEDIA_NOT_ARCHIVED, type CountBytes, type PlanEntry, type Policy } from './types.js';

const SAMPLES = 5;
const LOOKUP_BATCH = 500;

interface Tally extends CountBytes { samples: string[] }

const businessId = (def: DataTypeDef, doc: Document): string => {
  const v: unknown = doc[def.idField];
  return typeof v === 'string' ? v : BSON.EJSON.stringify(doc._id as never, { relaxed: false });
};

async function tallyRecords(def: DataTypeDef, cursor: FindCursor<Document>): Promise<Tally> {
  const t: Tally = { count: 0, bytes: 0, samples: [] };
  for await (const doc of cursor) {
    t.count++;
    t.bytes += BSON.calculateObjectSize(doc);
    if (t.samples.length < SAMPLES) t.samples.push(businessId(def, doc));
  }
  return t;
}

/** Media whose file records the cursor yields: the stored binaries (optionally only those not archived). */
async function tallyMedia(db: Db, cursor: FindCursor<Document>, mediaFilter: Document): Promise<Tally> {
  const t: Tally = { count: 0, bytes: 0, samples: [] };
  const seen = new Set<string>();
  let paths: string[] = [];
  const flush = async (): Promise<void> => {
    if (paths.length === 0) return;
    const stored = await db.collection(MEDIA_FILES).find(and({ _id: { $in: paths } }, mediaFilter), { projection: { length: 1 } }).toArray();
    for (const m of stored) {
      t.count++;
      t.bytes += Number(m.length ?? 0);
      if (t.samples.length < SAMPLES) t.samples.push(String(m._id));
    }
    paths = [];
  };
  for await (const rec of cursor) {
    const p: unknown = rec.storagePath;
    if (typeof p !== 'string' || seen.has(p)) continue;
    seen.add(p);
    paths.push(p);
    if (paths.length >= LOOKUP_BATCH) await flush();
  }
  await flush();
  return t;
}

/**
 * One policy's plan at `now`: what it would archive and destroy (counts, bytes, samples) and what holds keep back.
 * The executor acts on the same filters (dueFilters + the hold exclusion), so an enforcing run does what this says.
 */
export async function planPolicy(db: Db, policy: Policy, all: readonly Policy[], holds: HoldSet, now: Date): Promise<PlanEntry> {
  const def = DATA_TYPE_DEFS[policy.dataType];
  const due = await dueFilters(db, policy, all, now);
  const col = db.collection(def.collection);
  const excl = holds.exclusion(policy.dataType);
  const held = holds.held(policy.dataType);
  const anyDue = { $or: [due.destroy, due.archive] };
  let destroy: Tally;
  let archive: Tally;
  let heldBack: Tally;
  if (def.kind === 'record') {
    destroy = await tallyRecords(def, col.find(and(due.destroy, excl)));
    archive = await tallyRecords(def, col.find(and(due.archive, excl)));
    heldBack = held ? await tallyRecords(def, col.find(and(anyDue, held))) : { count: 0, bytes: 0, samples: [] };
  } else {
    const proj = { projection: { storagePath: 1 } };
    destroy = await tallyMedia(db, col.find(and(due.destroy, excl), proj), {});
    archive = await tallyMedia(db, col.find(and(due.archive, excl), proj), MEDIA_NOT_ARCHIVED);
    heldBack = held ? await tallyMedia(db, col.find(and(anyDue, held), proj), {}) : { count: 0, bytes: 0, samples: [] };
  }
  return {
    policyId: policy._id,
    dataType: policy.dataType,
    mode: policy.mode,
    archive: { count: archive.count, bytes: archive.bytes },
    destroy: { count: destroy.count, bytes: destroy.bytes },
    heldBack: { count: heldBack.count, bytes: heldBack.bytes },
    samples: { archive: archive.samples, destroy: destroy.samples },
  };
}
