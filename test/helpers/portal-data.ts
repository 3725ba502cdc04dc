import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import type { Db } from 'mongodb';
import { pino } from 'pino';
import { applyImport, ensureImportIndexes, planImport, type ImportEntry, type ImportResult } from '../../proxy/importer/index.js';
import { GeneratedDay } from '../../proxy/vendor-sim/generate/day-entries.js';

export const PORTAL_JOB_ID = '5f2b8c1e-7a3d-4e6f-9b0c-1d2e3f4a5b6c';
export const PORTAL_ARCHIVE = `backup_svc1001_${PORTAL_JOB_ID}_20260301020000.zip`;

/**
 * One simulator day imported through the real importer (plan + apply), as the pipeline stores it after extraction.
 * Returns the archive's record counts by archive path.
 */
export async function importSimulatorDay(db: Db, opts: { records?: number; mediaBytes?: number; seed?: string } = {}): Promise<Record<string, number>> {
  return (await importSimulatorDayWithResult(db, opts)).counts;
}

/** The same, also answering the importer's result. */
export async function importSimulatorDayWithResult(db: Db, opts: { records?: number; mediaBytes?: number; seed?: string } = {}): Promise<{ counts: Record<string, number>; result: ImportResult }> {
  const day = new GeneratedDay({
    serviceId: 'svc1001',
    jobId: PORTAL_JOB_ID,
    createdAt: new Date('2026-03-01T02:00:00Z'),
    seed: opts.seed ?? 'svc1001',
    records: opts.records ?? 600,
    mediaBytes: opts.mediaBytes ?? 256 * 1024,
  });
  const dir = await mkdtemp(join(tmpdir(), 'rp-portal-'));
  try {
    const entries: ImportEntry[] = [];
    for await (const entry of day.entries()) {
      const file = join(dir, ...entry.path.split('/'));
      await mkdir(dirname(file), { recursive: true });
      let crc = 0;
      let size = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
          crc = crc32(chunk, crc);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      await pipeline(entry.data, tap, createWriteStream(file));
      entries.push({ path: entry.path, size, crc32: crc >>> 0 });
    }
    const log = pino({ level: 'silent' });
    const plan = await planImport(dir, entries, log);
    await ensureImportIndexes(db);
    const result = await applyImport(db, dir, plan, { jobId: PORTAL_JOB_ID, archive: PORTAL_ARCHIVE }, { wtimeoutMs: 10_000, log });
    return { counts: day.recordCounts(), result };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
