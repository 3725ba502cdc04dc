import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { expectedCounts, mediaOf, mediaProblems, presentCounts, recordIdsOf } from '../helpers/archive-records.js';
import { startDaemon, type Daemon, type LogLine } from '../helpers/daemon.js';
import { ARCHIVE_KEY, startSim, writeProxyConfig, type SimHandle } from '../helpers/scenario.js';

/**
 * Issue 11 item 3: the leader of an HA pair is paused (SIGSTOP) in the middle of a media upload, past its lease. The
 * other node takes over and finishes every archive; then the paused one resumes where it stopped. Whatever it still
 * does, every media file must keep its bytes in GridFS (as every record its place), and "Data Downloaded" must have
 * been sent only for archives whose records and media were all there.
 */
const SITE = 'ha-paused';
const DB = 'e2e_ha_paused';
const TTL_SECONDS = 3;
const ARCHIVES = 2;

describe('HA pair: leader paused past its lease mid media upload', () => {
  let h: SimHandle;
  let client: MongoClient;
  const idsOf = new Map<string, Map<string, unknown[]>>();
  const mediaOfArchive = new Map<string, Map<string, string>>();
  const violations: string[] = [];
  const daemons: Daemon[] = [];

  beforeAll(async () => {
    client = await MongoClient.connect(inject('mongoUri'));
    await client.db(DB).dropDatabase();
    h = await startSim({
      onReport: async (report) => {
        if (report.status !== 'downloaded' || report.siteId !== SITE) return;
        const ids = idsOf.get(report.fileName);
        if (!ids) return;
        const got = await presentCounts(client.db(DB), ids);
        if (JSON.stringify(got) !== JSON.stringify(expectedCounts(ids))) violations.push(`${report.fileName}: "downloaded" arrived with ${JSON.stringify(got)} present`);
        for (const p of await mediaProblems(client.db(DB), mediaOfArchive.get(report.fileName) ?? new Map<string, string>())) violations.push(`${report.fileName}: "downloaded" arrived with media ${p}`);
      },
    });
    const base = Date.UTC(2026, 10, 1, 3, 0, 0);
    for (let d = 0; d < ARCHIVES; d++) {
      const p = await h.sim.publishDay({ date: new Date(base + d * 86_400_000), records: 200, mediaBytes: 3 * 1024 * 1024 });
      idsOf.set(p.fileName, await recordIdsOf(join(h.dir, 'outbox', p.fileName), ARCHIVE_KEY));
      mediaOfArchive.set(p.fileName, await mediaOf(join(h.dir, 'outbox', p.fileName), ARCHIVE_KEY));
    }
  });
  afterAll(async () => {
    for (const d of daemons) {
      d.child.kill('SIGCONT');
      await d.kill('SIGKILL');
    }
    await client?.db(DB).dropDatabase().catch(() => undefined);
    await client?.close();
    await h?.sim.close();
  });

  it('keeps every media file whole while the deposed leader resumes its upload', async () => {
    const extra = (node: string): string => `log:\n  level: debug\nha:\n  enabled: true\n  nodeId: ${node}\n  leaseTtlSeconds: ${TTL_SECONDS}\nportal:\n  host: 127.0.0.1\n  port: 0\n`;
    const acquired = (l: LogLine): boolean => l.msg === 'lease acquired: this node is the leader';
    for (const node of ['node-a', 'node-b']) {
      const setup = await writeProxyConfig(h, { siteId: SITE, dbName: DB, extra: extra(node) });
      daemons.push(startDaemon(node, setup.configPath));
    }
    const first = await Promise.any(daemons.map((d) => d.waitFor(acquired, 4 * TTL_SECONDS * 1000).then(() => d)));
    const other = daemons.find((d) => d !== first);
    if (!other) throw new Error('two daemons');

    // Pause the leader in the middle of a media upload (after the first few files went in).
    let uploads = 0;
    await first.waitFor((l) => l.msg === 'media upload started' && ++uploads >= 3, 120_000);
    first.child.kill('SIGSTOP');
    const pausedAt = Date.now();

    // The other node takes over and finishes everything.
    await other.waitFor(acquired, (TTL_SECONDS + 5) * 1000);
    const db = client.db(DB);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const reported = await db.collection('proxy.jobs').countDocuments({ state: 'reported' });
      const pending = await db.collection('proxy.outbox').countDocuments({ deliveredAt: { $exists: false } });
      if (reported === ARCHIVES && pending === 0) break;
      if (Date.now() > deadline) throw new Error(`not finished: ${reported} reported, ${pending} pending`);
      await sleep(250);
    }
    expect(Date.now() - pausedAt).toBeGreaterThan(TTL_SECONDS * 1000);

    // The paused leader wakes up where it stopped, mid-upload, and learns it is no longer the leader.
    first.child.kill('SIGCONT');
    await first.waitFor((l) => l.msg === 'lease lost: this node stops leading' || l.msg === 'this node stops leading', 30_000);
    await sleep(2 * TTL_SECONDS * 1000);

    for (const [fileName, media] of mediaOfArchive) {
      expect(await mediaProblems(db, media), fileName).toEqual([]);
      const ids = idsOf.get(fileName) ?? new Map<string, unknown[]>();
      expect(await presentCounts(db, ids), fileName).toEqual(expectedCounts(ids));
    }
    expect(await db.collection('media.uploads').countDocuments()).toBe(0);
    expect(violations).toEqual([]);
  });
});
