import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { ImportEntry } from '../../../proxy/importer/index.js';

/** A directory laid out as extraction leaves it, with the entry list extraction returns. */
export interface ExtractedDir {
  dir: string;
  entries: ImportEntry[];
  remove(): Promise<void>;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `inMemory`: the paths it takes are not written; their entries carry the bytes, as extraction's keepInMemory leaves them. */
export async function extractedDir(files: Record<string, string | Buffer>, inMemory: (path: string) => boolean = () => false): Promise<ExtractedDir> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-import-'));
  const entries: ImportEntry[] = [];
  for (const [path, content] of Object.entries(files)) {
    const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    if (inMemory(path)) {
      entries.push({ path, size: buf.length, crc32: crc32(buf), data: Buffer.from(buf) });
      continue;
    }
    const file = join(dir, ...path.split('/'));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
    entries.push({ path, size: buf.length, crc32: crc32(buf) });
  }
  return { dir, entries, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** manifest.json content describing `files` (which must not include the manifest itself). */
export function manifestFor(files: Record<string, string | Buffer>, records: Record<string, number>, jobId: string): string {
  return JSON.stringify({
    version: 1,
    serviceId: 'svc-1',
    jobId,
    createdAt: '2024-05-01T02:00:00Z',
    entries: Object.entries(files).map(([path, content]) => {
      const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      return { path, size: buf.length, sha256: sha256(buf) };
    }),
    records,
  });
}

export const JOB_ID = '0b7f3c1e-2a4d-4e8f-9c1a-5d6e7f8a9b0c';
export const ARCHIVE = `backup_svc-1_${JOB_ID}_20240501020000.zip`;
export const LATER_ARCHIVE = `backup_svc-1_${JOB_ID}_20240502020000.zip`;
