/**
 * staging.memoryBytes through the whole pipeline: with the default, a day's small media files are kept in memory
 * between extraction and import (the extraction log says how many); with 0 every file is written. Both store the same
 * media, byte for byte, and the same records.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_BUCKET } from '../../../proxy/importer/index.js';
import { runSyncCycle } from '../../../proxy/pipeline/sync-cycle.js';
import { publishDayArchive } from '../../../proxy/vendor-sim/generate/publish-archive.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { downloadMedia } from '../../helpers/gridfs.js';
import { startReportReceiver, type ReportReceiver } from '../../helpers/report-receiver.js';
import { startSshd, type SshdHandle } from '../../helpers/sshd.js';
import { KEY, SECRET, pipelineContext } from './pipeline-context.js';

async function mediaOf(db: Db): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of await db.collection<{ _id: string }>(`${MEDIA_BUCKET}.files`).find({}, { projection: { _id: 1 } }).toArray()) out.set(f._id, await downloadMedia(db, f._id));
  return out;
}

describe('staging.memoryBytes in the sync cycle', () => {
  let sshd: SshdHandle;
  let receiver: ReportReceiver;
  const dbs: TestDatabase[] = [];

  beforeAll(async () => {
    sshd = await startSshd();
    receiver = await startReportReceiver(SECRET);
    const gen = await publishDayArchive({ dataDir: sshd.root, archiveKey: KEY, encryption: 'aes-256', serviceId: 'svcmem', jobId: randomUUID(), createdAt: new Date(), seed: 'memory', records: 200, mediaBytes: 256 * 1024 });
    await gen.completed;
  }, 120_000);

  afterAll(async () => {
    await receiver?.close();
    for (const d of dbs) await d.drop();
    await sshd?.stop();
  });

  async function cycle(memoryBytes: number | undefined): Promise<{ db: Db; extracted: Record<string, unknown> }> {
    const tdb = await testDatabase('memstage');
    dbs.push(tdb);
    const dir = await mkdtemp(join(tmpdir(), 'rp-memstage-'));
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    try {
      const base = await pipelineContext(sshd, tdb, receiver.url, { staging: { dir, minFreeBytes: 0, ...(memoryBytes === undefined ? {} : { memoryBytes }) } });
      expect(base.config.staging.dir).toBe(dir);
      const summary = await runSyncCycle({ ...base, log }, { loggedIgnored: new Set() });
      expect(summary.archives.map((a) => a.state)).toEqual(['reported']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const extracted = lines.find((l) => l.msg === 'archive extracted');
    expect(extracted).toBeDefined();
    return { db: tdb.db, extracted: extracted! };
  }

  it('keeps the small media in memory by default, writes them all with 0, and both store the same media', async () => {
    const kept = await cycle(undefined);
    const written = await cycle(0);
    expect(kept.extracted.keptInMemory).toBeGreaterThan(0);
    expect(kept.extracted.keptBytes).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(written.extracted).toMatchObject({ keptInMemory: 0, keptBytes: 0 });
    const [a, b] = [await mediaOf(kept.db), await mediaOf(written.db)];
    expect(a.size).toBeGreaterThan(0);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [id, bytes] of a) expect(bytes.equals(b.get(id)!), id).toBe(true);
  }, 180_000);
});
