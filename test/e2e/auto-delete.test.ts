/**
 * "Nothing lost" against an archive that is really gone (issue 11, item 13): the vendor simulator with Auto-Delete on
 * and two configured backup sites. The archive stays on the SFTP server until BOTH sites have reported Data
 * Downloaded (one of them SIGKILLed after its import, before its report); then the vendor deletes it, and both
 * databases hold every record and every media file with the bytes the manifest promises.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GridFSBucket, MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectedCounts, presentCounts, recordIdsOf } from '../helpers/archive-records.js';
import { runCli } from '../helpers/cli.js';
import { ARCHIVE_KEY, startSim, writeProxyConfig, type ProxySetup, type SimHandle } from '../helpers/scenario.js';

const run = promisify(execFile);
const SITES = ['ad-a', 'ad-b'];

describe('Auto-Delete: the archive leaves the vendor only when every site has it', () => {
  let h: SimHandle;
  let client: MongoClient;
  let fileName = '';
  let ids: Map<string, unknown[]>;
  let media: { path: string; sha256: string }[] = [];
  const setups: ProxySetup[] = [];

  beforeAll(async () => {
    h = await startSim({ autoDelete: true, backupSites: SITES });
    client = await MongoClient.connect(inject('mongoUri'));
    const p = await h.sim.publishDay({ date: new Date(Date.UTC(2026, 10, 5, 3)), records: 400, mediaBytes: 512 * 1024 });
    fileName = p.fileName;
    const zip = join(h.dir, 'outbox', fileName);
    ids = await recordIdsOf(zip, ARCHIVE_KEY);
    const { stdout } = await run('7z', ['x', '-so', `-p${ARCHIVE_KEY}`, zip, 'manifest.json'], { maxBuffer: 64 * 1024 * 1024 });
    media = (JSON.parse(stdout) as { entries: { path: string; sha256: string }[] }).entries.filter((e) => !e.path.endsWith('.json'));
    for (const siteId of SITES) setups.push(await writeProxyConfig(h, { siteId, dbName: `e2e_${siteId.replace('-', '_')}_${Date.now().toString(36)}` }));
  });
  afterAll(async () => {
    for (const s of setups) await client?.db(s.dbName).dropDatabase();
    await client?.close();
    await h?.sim.close();
    for (const s of setups) await rm(s.dir, { recursive: true, force: true });
    if (h) await rm(h.dir, { recursive: true, force: true });
  });

  const onServer = async (): Promise<boolean> => (await readdir(join(h.dir, 'outbox'))).includes(fileName);
  const sync = (s: ProxySetup, opts: Parameters<typeof runCli>[1] = {}): ReturnType<typeof runCli> => runCli(['sync', '--once', '--json', '--config', s.configPath], opts);
  const statusOf = (siteId: string): string | undefined => h.sim.backupLog().find((r) => r.siteId === siteId && r.fileName === fileName)?.statusText;

  async function everyMediaFile(db: Db): Promise<void> {
    const bucket = new GridFSBucket(db, { bucketName: 'media' });
    for (const m of media) {
      const hash = createHash('sha256');
      for await (const chunk of bucket.openDownloadStream(m.path as never)) hash.update(chunk as Buffer);
      expect(hash.digest('hex'), m.path).toBe(m.sha256);
    }
  }

  it('stays after the first site, survives a kill of the second before its report, and is deleted after both', async () => {
    const [a, b] = setups as [ProxySetup, ProxySetup];
    expect((await sync(a)).code).toBe(0);
    await h.sim.settled();
    expect(statusOf('ad-a')).toBe('Data Downloaded');
    expect(await onServer()).toBe(true);

    // Site b imports, and is killed before "Data Downloaded" goes out: the vendor must keep the archive.
    const killed = await sync(b, { killWhen: (l) => l.msg === 'import acknowledged by a majority', killDelayMs: 0 });
    expect(killed.killed).toBe(true);
    await h.sim.settled();
    expect(h.sim.reports().some((r) => r.siteId === 'ad-b' && r.status === 'downloaded')).toBe(false);
    expect(await onServer()).toBe(true);

    const again = await sync(b);
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    await h.sim.settled();
    expect(await onServer()).toBe(false);
    expect(await readdir(join(h.dir, 'outbox'))).not.toContain(`${fileName}.sha256`);
    expect(statusOf('ad-a')).toBe('Retained data deleted');
    expect(statusOf('ad-b')).toBe('Retained data deleted');
  });

  it('both sites hold every record and every media file (sha256 as in the manifest), and a later cycle is clean', async () => {
    expect(media.length).toBeGreaterThan(0);
    for (const s of setups) {
      const db = client.db(s.dbName);
      expect(await presentCounts(db, ids)).toEqual(expectedCounts(ids));
      await everyMediaFile(db);
      const later = await sync(s);
      expect(later.code, later.stderr.slice(-2000)).toBe(0);
      const downloaded = h.sim.reports().filter((r) => r.siteId === s.siteId && r.status === 'downloaded');
      expect(new Set(downloaded.map((r) => r.reportId)).size).toBe(1);
    }
  });
});
