import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BSON, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { LeaseHistoryDoc } from '../../proxy/ha/lease-store.js';
import type { StatusReport } from '../../proxy/vendor-sim/types.js';
import { expectedCounts, mediaOf, mediaProblems, presentCounts, recordIdsOf } from '../helpers/archive-records.js';
import { runCli } from '../helpers/cli.js';
import { startDaemon, type Daemon, type LogLine } from '../helpers/daemon.js';
import { ARCHIVE_KEY, startSim, writeProxyConfig, type ProxySetup, type SimHandle } from '../helpers/scenario.js';

/**
 * The HA pair: two `retention-proxy run` daemons (same siteId, own staging directories) on one database and one vendor
 * simulator. The leader is SIGKILLed twice mid-work (during a download, then during an import) and restarted as the
 * follower. Every archive must end imported exactly once with every media file's bytes in GridFS, and reported
 * "downloaded" (one report, repeats byte-identical), never before its records and media were in the database, and the recorded lease terms must show strictly increasing tokens and terms that never overlap.
 */
const SITE = 'ha-pair';
const DB = 'e2e_ha_pair';
const TTL_SECONDS = 3;
const ARCHIVES = 4;

describe('HA pair: leader killed twice', () => {
  let h: SimHandle;
  let client: MongoClient;
  const idsOf = new Map<string, Map<string, unknown[]>>();
  const union: Record<string, number> = {};
  const violations: string[] = [];
  const daemons: Daemon[] = [];
  /** Media of each archive (path → sha256, read with 7z), and the "downloaded" deliveries checked on arrival. */
  const mediaOfArchive = new Map<string, Map<string, string>>();
  const checkedDeliveries = new Map<string, number>();

  beforeAll(async () => {
    client = await MongoClient.connect(inject('mongoUri'));
    await client.db(DB).dropDatabase();
    // Auto-Delete on: the vendor deletes each archive once the site reported it, so "nothing lost" is proven
    // against an archive that is really gone (a premature "downloaded" would leave the pair without a copy).
    h = await startSim({
      autoDelete: true,
      backupSites: [SITE],
      onReport: async (report: StatusReport) => {
        if (report.status !== 'downloaded' || report.siteId !== SITE) return;
        const ids = idsOf.get(report.fileName);
        if (!ids) return;
        const got = await presentCounts(client.db(DB), ids);
        if (JSON.stringify(got) !== JSON.stringify(expectedCounts(ids))) violations.push(`${report.fileName}: "downloaded" arrived with ${JSON.stringify(got)} present`);
        for (const p of await mediaProblems(client.db(DB), mediaOfArchive.get(report.fileName) ?? new Map<string, string>())) violations.push(`${report.fileName}: "downloaded" arrived with media ${p}`);
        checkedDeliveries.set(report.fileName, (checkedDeliveries.get(report.fileName) ?? 0) + 1);
      },
    });
    const base = Date.UTC(2026, 9, 10, 3, 0, 0);
    for (let d = 0; d < ARCHIVES; d++) {
      const p = await h.sim.publishDay({ date: new Date(base + d * 86_400_000), records: 300, mediaBytes: 384 * 1024, layout: d % 2 ? 'array' : 'lines' });
      idsOf.set(p.fileName, await recordIdsOf(join(h.dir, 'outbox', p.fileName), ARCHIVE_KEY));
      mediaOfArchive.set(p.fileName, await mediaOf(join(h.dir, 'outbox', p.fileName), ARCHIVE_KEY));
    }
    const all = new Map<string, Set<string>>();
    for (const ids of idsOf.values()) for (const [c, list] of ids) for (const id of list) (all.get(c) ?? all.set(c, new Set()).get(c))?.add(BSON.EJSON.stringify(id));
    for (const [c, set] of all) union[c] = set.size;
    // Slow transfers, so that a kill lands in the middle of real work.
    h.sim.setFaults({ bytesPerSecond: 768 * 1024 });
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.kill('SIGKILL')));
    await client?.db(DB).dropDatabase().catch(() => undefined);
    await client?.close();
    await h?.sim.close();
  });

  it('imports and reports every archive exactly once, and never has two leaders', async () => {
    try {
      await scenario();
    } catch (err) {
      // On failure, what every daemon was doing last.
      for (const d of daemons) console.log(`--- ${d.name} (pid ${String(d.child.pid)}):\n${d.logs.slice(-25).map((l) => JSON.stringify(l)).join('\n')}`);
      throw err;
    }
  });

  async function scenario(): Promise<void> {
    const extra = (node: string): string => `log:\n  level: debug\nha:\n  enabled: true\n  nodeId: ${node}\n  leaseTtlSeconds: ${TTL_SECONDS}\nportal:\n  host: 127.0.0.1\n  port: 0\n`;
    const setups = new Map<string, ProxySetup>();
    for (const node of ['node-a', 'node-b']) setups.set(node, await writeProxyConfig(h, { siteId: SITE, dbName: DB, extra: extra(node) }));
    const live = new Map<string, Daemon>();
    const start = (node: string): Daemon => {
      const setup = setups.get(node);
      if (!setup) throw new Error(node);
      const d = startDaemon(node, setup.configPath);
      daemons.push(d);
      live.set(node, d);
      return d;
    };
    const acquired = (l: LogLine): boolean => l.msg === 'lease acquired: this node is the leader';
    const seenAcquisitions = new Set<LogLine>();
    /** The node that logs the next acquisition not seen yet, and that log line. */
    const leaderNow = async (timeoutMs = 4 * TTL_SECONDS * 1000): Promise<{ daemon: Daemon; line: LogLine }> => {
      const next = await Promise.any([...live.values()].map((daemon) => daemon.waitFor((l) => acquired(l) && !seenAcquisitions.has(l), timeoutMs).then((line) => ({ daemon, line }))));
      seenAcquisitions.add(next.line);
      return next;
    };
    const t0 = Date.now();

    start('node-a');
    start('node-b');
    // Kill 1: the leader, while it downloads. Kill 2: the next leader, while it imports (possibly an archive the
    // first leader had downloaded into its own staging directory).
    const killPoints = [{ msg: 'download started', delayMs: 250 }, { msg: 'records verified; importing', delayMs: 20 }];
    const takeovers: number[] = [];
    const reportedAtKill: number[] = [];
    let next = await leaderNow();
    for (const point of killPoints) {
      const { daemon: leader, line } = next;
      const from = leader.logs.indexOf(line);
      await leader.waitFor((l) => l.msg === point.msg && leader.logs.indexOf(l) > from, 60_000);
      await sleep(point.delayMs);
      const killedAt = Date.now();
      await leader.kill('SIGKILL');
      reportedAtKill.push(await client.db(DB).collection('proxy.jobs').countDocuments({ state: 'reported' }));
      live.delete(leader.name);
      start(leader.name); // back as the follower (a new instance: it must wait for the lease like anyone else)
      next = await leaderNow();
      takeovers.push(Date.now() - killedAt);
    }

    // Let the survivors finish: every archive reported, nothing left in the outbox.
    const db = client.db(DB);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const reported = await db.collection('proxy.jobs').countDocuments({ state: 'reported' });
      const pending = await db.collection('proxy.outbox').countDocuments({ deliveredAt: { $exists: false } });
      if (reported === ARCHIVES && pending === 0) break;
      if (Date.now() > deadline) throw new Error(`not finished: ${reported} reported, ${pending} reports pending; jobs: ${JSON.stringify(await db.collection('proxy.jobs').find({}, { projection: { state: 1, error: 1 } }).toArray())}`);
      await sleep(250);
    }

    // Both serve the portal; exactly one is the leader (what keepalived reads); both know the site's last successful
    // cycle (the leader records it when its cycle ends, a moment after the last report).
    type Ready = { ready: boolean; lastSuccessfulCycle: { at: string; nodeId: string } | null; lease: { enabled: boolean; holder: boolean; nodeId: string; token: number | null } };
    const readyz = (): Promise<{ status: number; body: Ready }[]> => Promise.all([...live.values()].map(async (d) => {
      const res = await fetch(`${await d.url()}/readyz`);
      return { status: res.status, body: (await res.json()) as Ready };
    }));
    let ready = await readyz();
    for (let i = 0; i < 60 && ready.some((r) => r.body.lastSuccessfulCycle === null); i++) {
      await sleep(250);
      ready = await readyz();
    }
    const last = ready[0]?.body.lastSuccessfulCycle;
    expect(last?.nodeId).toMatch(/^node-[ab]$/);
    for (const r of ready) expect(r.body.lastSuccessfulCycle).toEqual(last);
    expect(ready.map((r) => r.status)).toEqual([200, 200]);
    expect(ready.filter((r) => r.body.lease.holder)).toHaveLength(1);
    const leader = [...live.values()].find((_d, i) => ready[i]?.body.lease.holder);
    const metrics = await (await fetch(`${await leader?.url()}/metrics`)).text();
    expect(metrics).toMatch(/^retention_proxy_lease_holder 1$/m);
    expect(metrics).toMatch(/^retention_proxy_archives_imported_total [1-9]/m);

    // A one-shot command on a third node refuses to run while the pair's leader holds the lease.
    const other = await writeProxyConfig(h, { siteId: SITE, dbName: DB, extra: extra('node-c') });
    const once = await runCli(['sync', '--once', '--config', other.configPath]);
    expect(once.code).toBe(1);
    expect(once.stderr).toContain('LEASE_HELD');

    // A clean stop releases the lease: the follower takes over well within the TTL.
    const follower = [...live.values()].find((d) => d !== leader);
    if (!leader || !follower) throw new Error('need a leader and a follower');
    const stoppedAt = Date.now();
    expect((await leader.kill('SIGTERM')).code).toBe(0);
    live.delete(leader.name);
    expect(leader.logs.some((l) => l.msg === 'lease released')).toBe(true);
    await leaderNow();
    const handover = Date.now() - stoppedAt;
    expect(handover).toBeLessThan(TTL_SECONDS * 1000);
    expect((await follower.kill('SIGTERM')).code).toBe(0);

    // Exactly once: each collection holds exactly the union of the archives' _ids; one "downloaded" per archive; and
    // every archive is gone from the vendor.
    await h.sim.settled();
    for (const [c, n] of Object.entries(union)) expect(await db.collection(c).countDocuments(), c).toBe(n);
    for (const [fileName, ids] of idsOf) {
      expect(await presentCounts(db, ids), fileName).toEqual(expectedCounts(ids));
      expect(await mediaProblems(db, mediaOfArchive.get(fileName) ?? new Map<string, string>()), `${fileName}: media`).toEqual([]);
      // Every delivery the vendor received (repeats after a kill included), not distinct report ids.
      const downloaded = h.sim.reports().filter((r) => r.siteId === SITE && r.fileName === fileName && r.status === 'downloaded');
      expect(downloaded.length, `"downloaded" delivered for ${fileName}`).toBeGreaterThanOrEqual(1);
      expect(new Set(downloaded.map((r) => JSON.stringify(r))).size, `every delivery for ${fileName} is the same report`).toBe(1);
      expect(checkedDeliveries.get(fileName), `each delivery for ${fileName} checked on arrival`).toBe(downloaded.length);
      expect(h.sim.backupLog().find((r) => r.siteId === SITE && r.fileName === fileName)?.statusText).toBe('Retained data deleted');
      expect(await readdir(join(h.dir, 'outbox')), fileName).not.toContain(fileName);
    }
    expect(violations).toEqual([]);

    // Never two leaders: every acquisition recorded, tokens strictly increasing, each term begins (server time) no
    // earlier than the previous term's last expiry or release.
    const terms = await db.collection<LeaseHistoryDoc>('proxy.lease_history').find({ siteId: SITE }).sort({ acquiredAt: 1, token: 1 }).toArray();
    expect(terms.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < terms.length; i++) {
      const prev = terms[i - 1];
      const cur = terms[i];
      if (!prev || !cur) continue;
      expect(cur.token, `term ${i}`).toBeGreaterThan(prev.token);
      expect(cur.previous?.token, `term ${i} follows ${prev.token}`).toBe(prev.token);
      expect(cur.acquiredAt.getTime(), `term ${cur.token} starts after term ${prev.token} ended`).toBeGreaterThanOrEqual(cur.previous?.expiresAt.getTime() ?? Infinity);
    }
    // The processes' own logs agree: each token was acquired once, in increasing order of time.
    const logged = daemons.flatMap((d) => d.logs.filter(acquired).map((l) => ({ token: Number(l.token), time: Date.parse(String(l.time)) }))).sort((x, y) => x.time - y.time || x.token - y.token);
    expect(logged.map((l) => l.token)).toEqual(terms.map((t) => t.token));
    // The kills interrupted real work (archives were still to do), and the new leaders picked it up.
    for (const n of reportedAtKill) expect(n).toBeLessThan(ARCHIVES);
    // Takeover after a SIGKILL: within the TTL (plus the follower's poll and start-up slack).
    for (const ms of takeovers) expect(ms).toBeLessThan((TTL_SECONDS + 2) * 1000);
    console.log(`HA pair: handover after SIGTERM ${handover} ms; ${terms.length} terms (tokens ${terms.map((t) => t.token).join(',')}), takeovers after kill ${takeovers.join(', ')} ms, reported at the kills ${reportedAtKill.join(', ')}, refetched from the other node's staging ${daemons.flatMap((d) => d.logs).filter((l) => String(l.msg).includes('not in this node')).length}, total ${Date.now() - t0} ms`);
  }
});
