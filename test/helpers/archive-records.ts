import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { BSON, type Binary, type Db } from 'mongodb';
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

/**
 * Every binary of an archive (the entries that are not record files nor the manifest) with the hex SHA-256 of its bytes,
 * read independently of our code: `7z x` and node's hash.
 */
export async function mediaOf(zipPath: string, key: string): Promise<Map<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-media-'));
  try {
    await run('7z', ['x', '-y', `-p${key}`, `-o${dir}`, zipPath]);
    const out = new Map<string, string>();
    for (const file of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!file.isFile()) continue;
      const path = relative(dir, join(file.parentPath, file.name)).split('\\').join('/');
      if (path === 'manifest.json' || collectionForEntry(path)) continue;
      out.set(path, createHash('sha256').update(await readFile(join(dir, path))).digest('hex'));
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * What is wrong with the stored media of an archive: missing from GridFS, chunks missing or extra, or bytes that hash to
 * something else. Reads the GridFS layout directly (two queries, so it is quick enough to run while a report waits).
 */
export async function mediaProblems(db: Db, media: Map<string, string>): Promise<string[]> {
  const paths = [...media.keys()];
  const files = new Map<string, { length: number; chunkSize: number }>();
  for (const f of await db.collection<{ _id: string; length: number; chunkSize: number }>('media.files').find({ _id: { $in: paths } }).toArray()) files.set(f._id, f);
  const chunks = new Map<string, Map<number, Buffer>>();
  for await (const c of db.collection<{ files_id: string; n: number; data: Binary }>('media.chunks').find({ files_id: { $in: paths } }, { projection: { files_id: 1, n: 1, data: 1 } })) {
    const of = chunks.get(c.files_id) ?? chunks.set(c.files_id, new Map()).get(c.files_id);
    of?.set(c.n, Buffer.from(c.data.buffer));
  }
  const problems: string[] = [];
  for (const [path, sha256] of media) {
    const file = files.get(path);
    if (!file) {
      problems.push(`${path}: no files document`);
      continue;
    }
    const parts = chunks.get(path) ?? new Map<number, Buffer>();
    const expected = Math.ceil(file.length / file.chunkSize);
    if (parts.size !== expected) {
      problems.push(`${path}: ${parts.size} chunks, ${expected} expected`);
      continue;
    }
    const hash = createHash('sha256');
    for (let n = 0; n < expected; n++) hash.update(parts.get(n) ?? Buffer.alloc(0));
    const got = hash.digest('hex');
    if (got !== sha256) problems.push(`${path}: bytes hash to ${got}, the archive's to ${sha256}`);
  }
  return problems;
}
