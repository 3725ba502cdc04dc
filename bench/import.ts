import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { BSON, MongoClient, type Document } from 'mongodb';
import { pino } from 'pino';
import { applyImport, planImport } from '../proxy/importer/index.js';
import { parseRecord, stampRecord } from '../proxy/importer/record-document.js';
import type { BenchContext, BenchRow } from './types.js';

/**
 * Importer throughput: planImport + applyImport of ~200k*scale realistic message records (one EJSON line file)
 * into a fresh database, against the plain driver baseline: insertMany (same batch size, ordered:false, same
 * majority write concern) of the same documents, already parsed (parsing is not counted for the peer), into another
 * fresh database. Ratio = peer time / our time; target >= 0.8x. A second row compares with insertMany of the exact
 * documents we store (with `_retention`, which makes each one larger), i.e. the importer's own overhead.
 */

const BATCH_SIZE = 1000;
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
  const oursDb = client.db(`bench_imp_${suffix}`);
  const peerDb = client.db(`bench_ins_${suffix}`);
  const stampedDb = client.db(`bench_stm_${suffix}`);
  try {
    // Peer: parse everything first (not timed), then plain insertMany batches.
    const docs: Document[] = [];
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (line.length > 0) docs.push(BSON.EJSON.parse(line, { relaxed: false }) as Document);
    }
    ctx.log('import: insertMany baseline');
    const peerStart = performance.now();
    const coll = peerDb.collection('history.messages');
    for (let i = 0; i < docs.length; i += BATCH_SIZE) {
      await coll.insertMany(docs.slice(i, i + BATCH_SIZE), { ordered: false, writeConcern: { w: 'majority', wtimeoutMS: WTIMEOUT_MS } });
    }
    const peerMs = performance.now() - peerStart;
    docs.length = 0;

    // Second peer: the very documents we store (with their _retention stamp), pre-built, through insertMany.
    const stamped: Document[] = [];
    let n = 0;
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (line.length > 0) stamped.push(stampRecord(parseRecord(line, ENTRY, 'line', ++n), { jobId: 'bench-job', archive: 'bench.zip' }, ENTRY));
    }
    ctx.log('import: insertMany of pre-stamped documents');
    const stampedStart = performance.now();
    const stampedColl = stampedDb.collection('history.messages');
    for (let i = 0; i < stamped.length; i += BATCH_SIZE) {
      await stampedColl.insertMany(stamped.slice(i, i + BATCH_SIZE), { ordered: false, writeConcern: { w: 'majority', wtimeoutMS: WTIMEOUT_MS } });
    }
    const stampedMs = performance.now() - stampedStart;
    stamped.length = 0;

    ctx.log('import: planImport + applyImport');
    const log = pino({ level: 'silent' });
    const oursStart = performance.now();
    const plan = await planImport(dir, entries, log);
    const planMs = performance.now() - oursStart;
    const result = await applyImport(oursDb, dir, plan, { jobId: 'bench-job', archive: 'bench.zip' }, { batchSize: BATCH_SIZE, wtimeoutMs: WTIMEOUT_MS, log });
    const oursMs = performance.now() - oursStart;

    const stored = await oursDb.collection('history.messages').countDocuments();
    if (result.records !== count || stored !== count) throw new Error(`import bench: expected ${count} records, imported ${result.records}, stored ${stored}`);

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
    await oursDb.dropDatabase().catch(() => undefined);
    await peerDb.dropDatabase().catch(() => undefined);
    await stampedDb.dropDatabase().catch(() => undefined);
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
