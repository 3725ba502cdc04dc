import type { Collection, Db, Document } from 'mongodb';
import { auditEntryHash, GENESIS_HASH, type ChainHead } from './audit-chain.js';
import { SEAL_ACTION, verifyLegacySeal } from './audit-seal.js';
import type { ProblemSink, VerifyCounts } from './problems.js';
import { EXACT_READ } from './record-hash.js';

export type { ChainHead };

const BATCH = 500;

/**
 * Walks the audit chain in seq order and reports each entry that was changed (its content no longer matches its
 * hash, or its hash was recomputed so that the next entry no longer links to it), removed (a gap in seq) or inserted
 * (an entry that links to nothing, or a second entry with one seq); an entry without chain fields dated after the chain
 * began is `unchained` (written by a proxy of an older release during a rolling upgrade, or by hand).
 * With `db` (the audit collection's database), the legacy entries are checked against the chain's first genuine
 * `audit.seal` entry, if there is one (audit-seal.ts): each legacy entry edited, removed or added since is named.
 * Returns the chain head as stored (to compare with a kept digest: removing the newest entries is visible only there).
 */
export async function verifyAuditChain(col: Collection<Document>, sink: ProblemSink, counts: VerifyCounts, tick?: () => void, db?: Db): Promise<ChainHead | null> {
  const collection = col.collectionName;
  let prev: { seq: number; hash: string; reported: boolean } | undefined;
  let firstAt: Date | undefined;
  let seal: { seq: number; details: unknown } | undefined;
  const cursor = col.find({ seq: { $exists: true } }, { ...EXACT_READ, sort: { seq: 1, _id: 1 }, batchSize: BATCH });
  for await (const { doc, group } of entriesOnePerSeq(cursor, () => prev, sink, collection)) {
    counts.auditEntries += group;
    tick?.();
    const seq = Number(doc.seq);
    const id = `seq ${String(seq)}`;
    const stored = typeof doc.hash === 'string' ? doc.hash : '';
    const computed = auditEntryHash(doc);
    const selfOk = computed === stored;
    if (firstAt === undefined && doc.at instanceof Date) firstAt = doc.at;
    if (!Number.isSafeInteger(seq) || seq < 1) {
      sink({ kind: 'inserted', area: 'audit', collection, id, detail: 'seq is not a positive integer' });
      continue; // the chain goes on from the entry before
    }
    const expected = prev === undefined ? 1 : prev.seq + 1;
    let reported = !selfOk;
    if (seq > expected) {
      sink({ kind: 'removed', area: 'audit', collection, id: `seq ${String(expected)}`, detail: seq - expected === 1 ? 'entry missing' : `entries ${String(expected)}..${String(seq - 1)} missing` });
      if (!selfOk) sink({ kind: 'changed', area: 'audit', collection, id, detail: 'content does not match its hash', recorded: stored, computed });
    } else {
      const linkOk = doc.prevHash === (prev === undefined ? GENESIS_HASH : prev.hash);
      if (!selfOk && linkOk) sink({ kind: 'changed', area: 'audit', collection, id, detail: 'content does not match its hash', recorded: stored, computed });
      else if (!selfOk) sink({ kind: 'inserted', area: 'audit', collection, id, detail: 'neither its hash nor its link to the entry before is right (forged)', recorded: stored, computed });
      else if (!linkOk && prev !== undefined && !prev.reported) {
        sink({ kind: 'changed', area: 'audit', collection, id: `seq ${String(prev.seq)}`, detail: `its hash was rewritten: entry ${String(seq)} links to ${String(doc.prevHash)}`, recorded: String(doc.prevHash), computed: prev.hash });
      } else if (!linkOk && prev === undefined) {
        sink({ kind: 'changed', area: 'audit', collection, id, detail: 'the first entry does not link to the genesis hash (0...0)' });
        reported = true;
      }
    }
    if (seal === undefined && selfOk && doc.action === SEAL_ACTION) seal = { seq, details: doc.details };
    prev = { seq, hash: stored, reported };
  }
  await checkUnchained(col, firstAt, sink, counts);
  if (db !== undefined && seal !== undefined) counts.sealedLegacyAuditEntries = await verifyLegacySeal(db, seal, firstAt, sink);
  return prev === undefined ? null : { seq: prev.seq, hash: prev.hash };
}

/**
 * Entries without chain fields: legacy when written before the chain began; `unchained` when dated after (an older
 * proxy still writing during a rolling upgrade, or an entry added by hand: the chain cannot tell which).
 */
async function checkUnchained(col: Collection<Document>, firstAt: Date | undefined, sink: ProblemSink, counts: VerifyCounts): Promise<void> {
  const cursor = col.find({ seq: { $exists: false } }, { projection: { at: 1, action: 1, user: 1 }, batchSize: BATCH });
  for await (const doc of cursor) {
    const at: unknown = doc.at;
    if (firstAt !== undefined && (!(at instanceof Date) || at >= firstAt)) {
      const when = at instanceof Date ? at.toISOString() : 'no date';
      sink({ kind: 'unchained', area: 'audit', collection: col.collectionName, id: `_id ${String(doc._id)}`, detail: `entry without chain fields dated ${when}, after the chain began (an older proxy during a rolling upgrade, or added by hand)` });
    } else counts.legacyAuditEntries++;
  }
}

interface Entry { doc: Document; group: number }

/**
 * The entries in seq order, one per seq: of several entries with one seq (only a forger makes them: the unique index
 * refuses a second), the genuine one (its hash right and linking to the entry before) goes on, whatever order they
 * come in; each other one is reported `inserted` by its `_id`. `group`: how many entries had that seq.
 */
async function* entriesOnePerSeq(cursor: AsyncIterable<Document>, prev: () => { hash: string } | undefined, sink: ProblemSink, collection: string): AsyncGenerator<Entry> {
  let group: Document[] = [];
  const pick = (): Entry => {
    const before = prev();
    const genuine = group.find((d) => typeof d.hash === 'string' && auditEntryHash(d) === d.hash && d.prevHash === (before === undefined ? GENESIS_HASH : before.hash)) ?? group[0];
    for (const d of group) {
      if (d !== genuine) sink({ kind: 'inserted', area: 'audit', collection, id: `seq ${String(Number(d.seq))}`, detail: `a second entry with this seq (_id ${String(d._id)})` });
    }
    return { doc: genuine as Document, group: group.length };
  };
  for await (const doc of cursor) {
    if (group.length > 0 && Number(doc.seq) !== Number(group[0]?.seq)) {
      yield pick();
      group = [];
    }
    group.push(doc);
  }
  if (group.length > 0) yield pick();
}
