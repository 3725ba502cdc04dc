import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { BSON, type Db } from 'mongodb';
import { collectionForEntry } from '../../proxy/importer/index.js';

const run = promisify(execFile);

/** Every record `_id` of an archive by collection, read independently of our code: `7z x` and EJSON. */
export async function recordIdsOf(zipPath: string, key: string): Promise<Map<string, unknown[]>> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-ids-'));
  try {
    await run('7z', ['x', '-y', `-p${key}`, `-o${dir}`, zipPath]);
    const out = new Map<string, unknown[]>();
    for (const file of await readdir(dir, { recursive: true })) {
      const path = relative(dir, join(dir, file)).split('\\').join('/');
      const collection = collectionForEntry(path);
      if (!collection) continue;
      const text = (await readFile(join(dir, file), 'utf8')).trim();
      const docs = (text.startsWith('[') ? (BSON.EJSON.parse(text, { relaxed: false }) as unknown[]) : text.split('\n').filter((l) => l.trim()).map((l): unknown => BSON.EJSON.parse(l, { relaxed: false }))) as { _id: unknown }[];
      out.set(collection, [...(out.get(collection) ?? []), ...docs.map((d) => d._id)]);
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** How many of the given `_id`s are in each collection (all of them = the archive is fully imported). */
export async function presentCounts(db: Db, ids: Map<string, unknown[]>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [collection, list] of ids) out[collection] = await db.collection(collection).countDocuments({ _id: { $in: list as never[] } });
  return out;
}

export function expectedCounts(ids: Map<string, unknown[]>): Record<string, number> {
  return Object.fromEntries([...ids].map(([c, l]) => [c, new Set(l.map((x) => BSON.EJSON.stringify(x))).size]));
}
