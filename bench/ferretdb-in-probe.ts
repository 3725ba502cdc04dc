/**
 * What a `{field: {$in: keys}}` query costs against the number of keys, and against the same query without the `$in`
 * (not part of `npm run bench`):
 *
 *   npm run build && node dist/bench/ferretdb-in-probe.js mongodb://127.0.0.1:PORT/ [sizes, default 15000,60000]
 *
 * For each size N: a fresh collection of N documents of ~450 bytes, `roomId` one of 5 000 values, then one query per
 * key count (5 000, 1 000, 500, 200, 1, 50 keys) with projection {roomId, sentAt}, and one with no filter. Prints
 * milliseconds and documents returned. docs/benchmarks.md ("FerretDB's `$in`") has its figures; findIn
 * (proxy/importer/point-queries.ts) is what they led to. Uses (and drops) the database `rp_in_probe`.
 */
import { MongoClient } from 'mongodb';

async function main(): Promise<void> {
  const uri = process.argv[2];
  if (!uri) throw new Error('usage: node dist/bench/ferretdb-in-probe.js MONGODB_URI [N,N,...]');
  const sizes = (process.argv[3] ?? '15000,60000').split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`sizes must be positive whole numbers, comma-separated: ${process.argv[3] ?? ''}`);
  const client = new MongoClient(uri);
  await client.connect();
  const db = client.db('rp_in_probe');
  try {
    const pad = 'x'.repeat(400);
    for (const n of sizes) {
      const coll = db.collection<{ _id: string; roomId: string; sentAt: Date; body: string }>(`m${n}`);
      await coll.drop().catch(() => undefined);
      for (let i = 0; i < n; i += 1000) {
        await coll.insertMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ _id: `m${i + j}`, roomId: `room-${(i + j) % 5000}-abcdef`, sentAt: new Date(), body: pad })));
      }
      const projection = { _id: 0, roomId: 1, sentAt: 1 };
      const timed = async (label: string, filter: object): Promise<string> => {
        const t = performance.now();
        const found = (await coll.find(filter, { projection }).batchSize(1000).toArray()).length;
        return `${label} ${(performance.now() - t).toFixed(0)} ms (${found})`;
      };
      const parts: string[] = [];
      for (const k of [5000, 1000, 500, 200, 1, 50]) {
        parts.push(await timed(`$in ${k}`, { roomId: { $in: Array.from({ length: k }, (_, i) => `room-${i}-abcdef`) } }));
      }
      parts.push(await timed('no filter', {}));
      process.stdout.write(`N=${n}: ${parts.join(', ')}\n`);
      await coll.drop();
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
