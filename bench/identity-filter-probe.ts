/**
 * Probe (not part of `npm run bench`): what the identity refresh's look-up costs on FerretDB for a history.rooms-like
 * collection, with and without its `$in` and its `$or` (not superseded, or from this archive).
 *   npm run build && node dist/bench/identity-filter-probe.js [N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { findOrStartLocalDatabase } from '../proxy/devdb/local-database.js';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 28000);
  const dataDir = await mkdtemp(join(tmpdir(), 'rp-probe-db-'));
  const local = await findOrStartLocalDatabase({ dataDir });
  const client = new MongoClient(local.uri);
  try {
    await client.connect();
    const info = await client.db('admin').command({ buildInfo: 1 });
    if (typeof info.ferretdbVersion !== 'string') throw new Error(`this probe measures FerretDB; ${local.description} is not (unset MONGODB_URI, no Docker)`);
    const db = client.db('rp_identity_probe');
    await db.dropDatabase();
    const coll = db.collection<{ _id: string; [k: string]: unknown }>('history.rooms');
    const pad = 'x'.repeat(250);
    for (let i = 0; i < n; i += 1000) {
      await coll.insertMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
        _id: `r${i + j}`, roomId: `room-${i + j}-abcdef`, name: pad, _retention: { createdAt: new Date(), archive: 'backup_a.zip', sha256: pad.slice(0, 64) },
      })));
    }
    const keys = Array.from({ length: 843 }, (_, i) => `room-${n - 1 - i}-abcdef`);
    const which = { $or: [{ '_retention.superseded': { $ne: true } }, { '_retention.archive': 'backup_b.zip' }] };
    const projection = { _id: 1, roomId: 1, '_retention.createdAt': 1, '_retention.archive': 1, '_retention.superseded': 1, _archived: 1 };
    for (const [label, filter] of [
      ['$in 843 + $or', { ...which, roomId: { $in: keys } }],
      ['$in 843', { roomId: { $in: keys } }],
      ['$or only', which],
      ['no filter', {}],
    ] as const) {
      const t = performance.now();
      const found = (await coll.find(filter, { projection }).batchSize(1000).toArray()).length;
      console.log(`${n} docs: ${label}: ${(performance.now() - t).toFixed(0)} ms (${found})`);
    }
    await db.dropDatabase();
  } finally {
    await client.close();
    await local.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
