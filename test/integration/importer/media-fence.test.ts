import { createHash } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { GridFSBucket, MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Fence } from '../../../proxy/ha/lease.js';
import { planImport } from '../../../proxy/importer/index.js';
import { writeMediaFiles } from '../../../proxy/importer/media-writer.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID, extractedDir, type ExtractedDir } from './extracted-dir.js';

const log = pino({ level: 'silent' });
const PATH = 'data-retention/call-recording/rec-1.wav';
const DATA = Buffer.from(Array.from({ length: 1_200_000 }, (_, i) => (i * 7919) % 251));
const wc = { w: 'majority' as const, journal: true, wtimeoutMS: 10_000 };

/** A TCP relay to the database that can hold back what the client sends: a leader "paused" on the wire. */
async function relay(host: string, port: number): Promise<{ port: number; pause(): void; resume(): void; close(): Promise<void> }> {
  let paused = false;
  const held: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => (paused ? held.push(() => upstream.write(d)) : upstream.write(d)));
    upstream.on('data', (d: Buffer) => client.write(d));
    const end = (): void => { client.destroy(); upstream.destroy(); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    pause: () => { paused = true; },
    resume: () => { paused = false; for (const w of held.splice(0)) w(); },
    close: async () => { for (const s of sockets) s.destroy(); await new Promise((r) => server.close(r)); },
  };
}

const fenceOf = (token: number): Fence => ({ token: () => token });

/**
 * Issue 11 item 3: a deposed leader (token 1) whose clean-up of an interrupted upload is held up on the wire until the
 * new leader (token 2) has stored the same file completely, and whose lease then ends, must not leave the new
 * leader's files document without its bytes.
 */
describe('GridFS data writes are fenced against a deposed leader', () => {
  let tdb: TestDatabase;
  let x: ExtractedDir;

  beforeAll(async () => {
    tdb = await testDatabase('mediafence');
    x = await extractedDir({ [PATH]: DATA });
  });
  afterAll(async () => {
    await x?.remove();
    await tdb?.drop();
  });

  it('the stale leader\'s clean-up, arriving after the new leader completed the file, deletes none of its chunks', async () => {
    const uri = new URL(inject('mongoUri').replace(/^mongodb:/, 'http:'));
    const wire = await relay(uri.hostname, Number(uri.port || 27017));
    const stale = new MongoClient(`mongodb://127.0.0.1:${wire.port}/?directConnection=true`, { monitorCommands: true, serverSelectionTimeoutMS: 10_000 });
    try {
      const plan = await planImport(x.dir, x.entries, log);
      const staleDb: Db = stale.db(tdb.name);
      // The stale leader's earlier attempt was interrupted: its marker and one chunk are left.
      await tdb.db.collection('media.uploads').insertOne({ _id: PATH as never, jobId: JOB_ID, archive: ARCHIVE, startedAt: new Date(), fence: 1 });
      await tdb.db.collection('media.chunks').insertOne({ files_id: PATH, n: 0, data: DATA.subarray(0, 1000), fence: 1 });

      // Leader 1 starts again; its chunk clean-up is held on the wire ("paused" past its lease).
      let heldCleanup!: () => void;
      const cleanupSent = new Promise<void>((resolve) => (heldCleanup = resolve));
      stale.on('commandStarted', (e) => {
        if (e.commandName === 'delete' && e.command.delete === 'media.chunks') {
          wire.pause();
          heldCleanup();
        }
      });
      const term = new AbortController();
      const staleRun = writeMediaFiles(staleDb, x.dir, plan.binaries, { jobId: JOB_ID, archive: ARCHIVE }, {
        writeConcern: wc, fence: fenceOf(1), log, signal: term.signal, onFile: () => undefined,
      }).then(() => 'finished', (err: unknown) => `failed: ${(err as Error).message}`);
      await cleanupSent;

      // Leader 2 stores the file completely.
      const fresh = await writeMediaFiles(tdb.db, x.dir, plan.binaries, { jobId: JOB_ID, archive: ARCHIVE }, {
        writeConcern: wc, fence: fenceOf(2), log, onFile: () => undefined,
      });
      expect(fresh.uploaded).toBe(1);

      // Leader 1's term ends (its lease is gone) and its held clean-up reaches the server.
      term.abort(new Error('lease lost'));
      wire.resume();
      expect(await staleRun).toMatch(/^failed/);

      const stored = await tdb.db.collection('media.files').findOne({ _id: PATH as never });
      expect(stored?.length).toBe(DATA.length);
      const chunks = await tdb.db.collection('media.chunks').countDocuments({ files_id: PATH });
      expect(chunks).toBe(Math.ceil(DATA.length / (255 * 1024)));
      const bytes: Buffer[] = [];
      for await (const b of new GridFSBucket(tdb.db, { bucketName: 'media' }).openDownloadStream(PATH as never)) bytes.push(b as Buffer);
      expect(createHash('sha256').update(Buffer.concat(bytes)).digest('hex')).toBe(createHash('sha256').update(DATA).digest('hex'));
      expect(await tdb.db.collection('media.uploads').countDocuments()).toBe(0);
    } finally {
      await stale.close(true);
      await wire.close();
    }
  });
});
