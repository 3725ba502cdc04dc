/**
 * What a look-up or write by `_id` costs on a database as its collection grows (not part of `npm run bench`):
 *
 *   npm run build && node dist/bench/ferretdb-id-probe.js mongodb://127.0.0.1:PORT/ [sizes, default 1000,60000]
 *
 * For each size N: a fresh collection of N documents of ~300 bytes with string `_id`s, then 20 ids spread over it,
 * one operation at a time: findOne, replaceOne, a bulkWrite of 20 replaceOne, 10 deleteOne. Prints milliseconds per
 * operation. docs/benchmarks.md ("FerretDB's own _id index") has its figures for a stock FerretDB 1.24 build and the
 * one scripts/install-ferretdb.sh makes. Uses (and drops) the database `rp_id_probe`.
 */
import { MongoClient } from 'mongodb';

async function main(): Promise<void> {
  const uri = process.argv[2];
  if (!uri) throw new Error('usage: node dist/bench/ferretdb-id-probe.js MONGODB_URI [N,N,...]');
  const sizes = (process.argv[3] ?? '1000,60000').split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 20)) throw new Error(`sizes must be whole numbers of at least 20, comma-separated: ${process.argv[3] ?? ''}`);
  const client = new MongoClient(uri);
  await client.connect();
  const db = client.db('rp_id_probe');
  try {
    const pad = 'x'.repeat(250);
    for (const n of sizes) {
      const coll = db.collection<{ _id: string; a: number; pad: string }>(`c${n}`);
      await coll.drop().catch(() => undefined);
      for (let i = 0; i < n; i += 1000) {
        await coll.insertMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ _id: `id${i + j}`, a: i + j, pad })));
      }
      const ids = Array.from({ length: 20 }, (_, i) => `id${Math.floor(((i + 0.5) * n) / 20)}`);
      const each = async (count: number, work: () => Promise<unknown>): Promise<string> => {
        const t = performance.now();
        await work();
        return ((performance.now() - t) / count).toFixed(1);
      };
      const find = await each(ids.length, async () => { for (const id of ids) await coll.findOne({ _id: id }); });
      const replace = await each(ids.length, async () => { for (const id of ids) await coll.replaceOne({ _id: id }, { a: 1, pad }); });
      const bulk = await each(ids.length, () => coll.bulkWrite(ids.map((id) => ({ replaceOne: { filter: { _id: id }, replacement: { a: 2, pad } } }))));
      const del = await each(10, async () => { for (const id of ids.slice(0, 10)) await coll.deleteOne({ _id: id }); });
      process.stdout.write(`N=${n}: findOne ${find} ms, replaceOne ${replace} ms, bulkWrite replaceOne ${bulk} ms each, deleteOne ${del} ms\n`);
    }
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
