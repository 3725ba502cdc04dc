import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BSON, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArchiveName } from '../../../proxy/archive/archive-name.js';
import type { PipelineContext } from '../../../proxy/pipeline/context.js';
import { setPointQueriesForTests } from '../../../proxy/importer/point-queries.js';
import { processJob } from '../../../proxy/pipeline/process-job.js';
import { publishDayArchive, type PublishedArchive } from '../../../proxy/vendor-sim/generate/publish-archive.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { startSshd, type SshdHandle } from '../../helpers/sshd.js';
import { KEY, pipelineContext } from './pipeline-context.js';

const SERVICE = 'svc-newest';
/** Records re-delivered in every archive (docs/archive-format.md), with the filter that selects them. */
const REPEATED: [collection: string, filter: Document][] = [
  ['lc-data-server.staff', {}],
  ['dynamic-phonebook.contacts', {}],
  ['history.rooms', { type: { $ne: 'enquiry' } }],
];

/**
 * Issue 11 item 1: an older archive imported after a newer one (a retry that waited in backoff, or `import --force` of
 * an old file) must not overwrite the newer deliveries of records every archive repeats.
 */
describe('the newest delivery of a record wins, whatever the import order', () => {
  let sshd: SshdHandle;
  let work: string;
  let day1: PublishedArchive;
  let day2: PublishedArchive;

  beforeAll(async () => {
    sshd = await startSshd();
    work = await mkdtemp(join(tmpdir(), 'rp-newest-'));
    const publish = async (day: number): Promise<PublishedArchive> => {
      const p = await publishDayArchive({
        dataDir: work, archiveKey: KEY, encryption: 'aes-256', serviceId: SERVICE, jobId: randomUUID(),
        createdAt: new Date(Date.UTC(2026, 2, day, 2)), seed: 'newest-wins', records: 400, mediaBytes: 16 * 1024,
      });
      await p.completed;
      return p;
    };
    day1 = await publish(1);
    day2 = await publish(2);
  });
  afterAll(async () => {
    await sshd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  // The test database is FerretDB, so the importer would only ever take its point-query path there; forcing the mode
  // per client runs the MongoDB path (the rule inside each replace's filter, one $in read) through the same imports.
  describe.each([
    { mode: 'MongoDB path (conditional replace)', pointOnly: false },
    { mode: 'FerretDB path ({_id} look-ups and replaces)', pointOnly: true },
  ])('$mode', ({ pointOnly }) => {
    let tdb: TestDatabase;
    let ctx: PipelineContext;

    beforeAll(async () => {
      tdb = await testDatabase('newest');
      setPointQueriesForTests(tdb.client, pointOnly);
      ctx = await pipelineContext(sshd, tdb, 'http://127.0.0.1:9/unused');
    });
    afterAll(async () => {
      await tdb?.drop();
    });

    /** `import FILE.zip [--force]`: a local job through the same pipeline. */
    const importLocal = async (p: PublishedArchive): Promise<void> => {
      const name = parseArchiveName(p.fileName);
      if (!name) throw new Error(`bad name ${p.fileName}`);
      await ctx.jobs.discover({
        fileName: p.fileName, serviceId: name.serviceId, jobId: name.jobId, siteId: ctx.config.siteId,
        archiveCreatedAt: name.createdAt, source: 'local', localPath: p.path, remoteSize: p.bytes, remoteMtimeMs: 0,
      });
      let job = await ctx.jobs.get(p.fileName);
      if (job?.state === 'imported') job = await ctx.jobs.transition(p.fileName, ['imported'], 'downloaded', {}, 'import --force');
      if (!job) throw new Error('no job');
      const outcome = await processJob(ctx, job, () => Promise.reject(new Error('no SFTP')));
      expect(outcome).toEqual({ fileName: p.fileName, jobId: name.jobId, state: 'imported' });
    };

    const snapshot = async (): Promise<Map<string, string>> => {
      const out = new Map<string, string>();
      for (const [collection, filter] of REPEATED) {
        for (const d of await tdb.db.collection(collection).find(filter, { promoteValues: false }).toArray()) {
          out.set(`${collection}/${BSON.EJSON.stringify(d._id)}`, BSON.EJSON.stringify(d, { relaxed: false }));
        }
      }
      return out;
    };

    it('imports day 2, then day 1: staff, contacts and standing rooms keep day 2\'s content and stamp', async () => {
      await importLocal(day2);
      const afterDay2 = await snapshot();
      expect(afterDay2.size).toBeGreaterThan(10);
      for (const [collection, filter] of REPEATED) {
        expect(await tdb.db.collection(collection).countDocuments({ ...filter, '_retention.archive': day2.fileName })).toBeGreaterThan(0);
      }

      await importLocal(day1);
      // Day 1 was imported (its own enquiries and messages are there) ...
      expect(await tdb.db.collection('history.messages').countDocuments({ '_retention.archive': day1.fileName })).toBeGreaterThan(0);
      // ... but every record both archives carry is still day 2's.
      expect(await snapshot()).toEqual(afterDay2);
      const stamp = (await tdb.db.collection('lc-data-server.staff').findOne({}))?._retention as { createdAt: unknown } | undefined;
      expect(stamp?.createdAt).toEqual(new Date(Date.UTC(2026, 2, 2, 2)));

      // Media every archive repeats (avatars, tag icons) stay day 2's too.
      const media = tdb.db.collection('media.files');
      expect(await media.countDocuments({ filename: /^data-retention\/(avatar|tag-icon)\//, 'metadata.archive': { $ne: day2.fileName } })).toBe(0);
    });

    it('importing day 2 again (import --force) changes nothing, and day 1 again neither', async () => {
      const before = await snapshot();
      await importLocal(day2);
      await importLocal(day1);
      expect(await snapshot()).toEqual(before);
    });
  });
});
