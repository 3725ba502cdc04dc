import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { BSON, MongoClient, type Document } from 'mongodb';
import { parseRecord, stampRecord } from '../proxy/importer/record-document.js';
import { runChildJob } from './child-job.js';
import type { ImportChildJob, ImportChildResult } from './import-child.js';
import type { BenchContext, BenchRow } from './types.js';

/** The archive both sides' records come from: a name the importer accepts (it derives the archive time from it). */
export const IMPORT_BENCH_JOB = { jobId: '8d2c4e6a-1b3f-4a5d-9e7c-2f4a6b8c0d1e', archive: 'backup_svc1001_8d2c4e6a-1b3f-4a5d-9e7c-2f4a6b8c0d1e_20260301020000.zip' };

/**
 * Importer throughput: planImport + applyImport of ~200k*scale realistic message records (one EJSON line file)
 * into a fresh database, in a fresh Node process (import-child.ts), against the plain driver baseline: insertMany
 * (same batch size, ordered:false, same majority write concern) of the same documents, already parsed (parsing is
 * not counted for the peer), into another fresh database. Best of 3 rounds in rotated order. Ratio = peer time / our time; target >= 0.8x. A second row compares with insertMany of the exact
 * documents we store (with `_retention`, which makes each one larger), i.e. the importer's own overhead.
 */

const BATCH_SIZE = 1000;
type Variant = 'peer' | 'stamped' | 'ours';
const ROUND_ORDERS: readonly (readonly Variant[])[] = [['peer', 'stamped', 'ours'], ['ours', 'peer', 'stamped'], ['stamped', 'ours', 'peer']];
const WTIMEOUT_MS = 60_000;
const ENTRY = 'history/messages.json';

export async function benchImport(ctx: BenchContext, mongoUri: string): Promise<BenchRow[]> {
  const count = Math.max(1000, Math.round(200_000 * ctx.scale));
  const dir = join(ctx.workDir, 'import');
  await mkdir(join(dir, 'history'), { recursive: true });
  const file = join(dir, ...ENTRY.split('/'));
  ctx.log(`import: generating ${count} message records`);
  await writeMessages(file, count);
  const size = (await stat(file)).size;
  const entries = [{ path: ENTRY, size, crc32: crc32(await readFile(file)) }];

  const client = new MongoClient(mongoUri);
  await client.connect();
  const suffix = Date.now().toString(36);
  try {
    // The peers' documents are built once, untimed: parsed (first peer) and parsed + stamped as we store them (second).
    const docs: Document[] = [];
    const stamped: Document[] = [];
    let n = 0;
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (line.length === 0) continue;
      docs.push(BSON.EJSON.parse(line, { relaxed: false }) as Document);
      stamped.push(stampRecord(parseRecord(line, ENTRY, 'line', ++n), IMPORT_BENCH_JOB, ENTRY));
    }
    const insertAll = async (database: string, all: Document[]): Promise<number> => {
      const coll = client.db(database).collection('history.messages');
      const started = performance.now();
      for (let i = 0; i < all.length; i += BATCH_SIZE) {
        await coll.insertMany(all.slice(i, i + BATCH_SIZE), { ordered: false, writeConcern: { w: 'majority', wtimeoutMS: WTIMEOUT_MS } });
      }
      return performance.now() - started;
    };
    const importOurs = async (database: string): Promise<ImportChildResult> => {
      const job: ImportChildJob = { mongoUri, database, dir, entries, batchSize: BATCH_SIZE, wtimeoutMs: WTIMEOUT_MS };
      const r = await runChildJob<ImportChildResult>('import-child.js', job);
      if (r.records !== count || r.stored !== count) throw new Error(`import bench: expected ${count} records, imported ${r.records}, stored ${r.stored}`);
      return r;
    };

    // Three rounds, each variant once per round in a rotated order (no variant always first or last), each into a
    // fresh database dropped right after; best of 3 each.
    let peerMs = Infinity;
    let stampedMs = Infinity;
    let oursMs = Infinity;
    let planMs = 0;
    for (const [round, order] of ROUND_ORDERS.entries()) {
      for (const variant of order) {
        const database = `bench_${variant}_${suffix}_${round}`;
        try {
          if (variant === 'peer') peerMs = Math.min(peerMs, await insertAll(database, docs));
          else if (variant === 'stamped') stampedMs = Math.min(stampedMs, await insertAll(database, stamped));
          else {
            const r = await importOurs(database);
            if (r.ms < oursMs) {
              oursMs = r.ms;
              planMs = r.planMs;
            }
          }
        } finally {
          await client.db(database).dropDatabase().catch(() => undefined);
        }
      }
      ctx.log(`import: round ${round + 1}: best so far insertMany ${Math.round(peerMs)} ms, stamped ${Math.round(stampedMs)} ms, ours ${Math.round(oursMs)} ms`);
    }

    const oursRate = count / (oursMs / 1000);
    const peerRate = count / (peerMs / 1000);
    const ratio = peerMs / oursMs;
    return [
      {
        group: 'import',
        name: `EJSON lines -> MongoDB (${count} records, ${(size / 2 ** 20).toFixed(0)} MiB)`,
        ours: `${Math.round(oursRate)} docs/s (plan ${Math.round(planMs)} ms + apply ${Math.round(oursMs - planMs)} ms)`,
        peer: `${Math.round(peerRate)} docs/s (insertMany of pre-parsed docs)`,
        ratio,
        target: '>= 0.8x',
        pass: ratio >= 0.8,
        raw: { records: count, bytes: size, oursMs: Math.round(oursMs), planMs: Math.round(planMs), peerMs: Math.round(peerMs), oursDocsPerSec: oursRate, peerDocsPerSec: peerRate },
      },
      {
        group: 'import',
        name: `same, peer writes our stored documents (with _retention)`,
        ours: `${Math.round(oursRate)} docs/s`,
        peer: `${Math.round(count / (stampedMs / 1000))} docs/s (insertMany of pre-stamped docs)`,
        ratio: stampedMs / oursMs,
        target: '>= 0.8x',
        pass: stampedMs / oursMs >= 0.8,
        raw: { records: count, oursMs: Math.round(oursMs), peerMs: Math.round(stampedMs) },
      },
    ];
  } finally {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `count` chat-message records, one canonical-ish EJSON document per line, with backpressure. */
async function writeMessages(file: string, count: number): Promise<void> {
  const out = createWriteStream(file);
  const words = ['hello', 'order', 'delivery', 'thanks', 'please', 'call', 'tomorrow', 'invoice', 'ok', 'problem', 'räksmörgås', '✓'];
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const base = Date.UTC(2024, 4, 1);
  for (let i = 0; i < count; i++) {
    const text = Array.from({ length: 3 + rand(40) }, () => words[rand(words.length)]).join(' ');
    const doc = {
      _id: { $oid: (0x65000000 + i).toString(16).padStart(8, '0') + '0000000000000000' },
      conversationId: `conv-${rand(5000)}`,
      seq: { $numberLong: String(i) },
      from: { id: `user-${rand(800)}`, name: `User ${rand(800)}`, role: rand(2) ? 'agent' : 'customer' },
      to: [`user-${rand(800)}`],
      text,
      sentAt: { $date: new Date(base + i * 1000).toISOString() },
      read: rand(2) === 1,
      attachments: rand(10) === 0 ? [{ name: `file-${i}.pdf`, size: rand(1_000_000), path: `data-retention/${i}.pdf` }] : [],
    };
    if (!out.write(`${JSON.stringify(doc)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
