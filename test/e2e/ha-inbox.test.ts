import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { publishDayArchive } from '../../proxy/vendor-sim/generate/publish-archive.js';
import { pushArchive } from '../../proxy/vendor-sim/push/sftp-push.js';
import { generateEd25519KeyPair } from '../../proxy/vendor-sim/sftp/host-key.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { startReportReceiver, type ReportReceiver } from '../helpers/report-receiver.js';
import { startSshd, type SshdHandle } from '../helpers/sshd.js';

const SITE = 'ha-inbox';
const DB = 'e2e_ha_inbox';
const KEY = 'Ha-Inbox-Key-2026!';
const SECRET = 'ha-inbox-signing-secret';
const TTL_SECONDS = 3;

/**
 * The HA pair in the inbox layout: each node's proxy collects from its own inbox (sftp.host) and the other node's
 * (sftp.peers); two loopback sshds on different ports stand in for the two nodes' inboxes. The vendor uploads to the
 * leader's inbox just before the leader is SIGKILLed: the other node takes the lease and imports the archive from its
 * peer's inbox, reports it, and removes it there.
 */
describe('HA pair with inboxes: an archive uploaded to the leader just before it dies', () => {
  let inboxA: SshdHandle;
  let inboxB: SshdHandle;
  let receiver: ReportReceiver;
  let client: MongoClient;
  let dir: string;
  const vendor = generateEd25519KeyPair();
  const daemons: Daemon[] = [];

  beforeAll(async () => {
    inboxA = await startSshd({ extraAuthorizedKeys: [vendor.public] });
    inboxB = await startSshd({ clientPrivateKey: inboxA.privateKey, extraAuthorizedKeys: [vendor.public] });
    receiver = await startReportReceiver(SECRET);
    client = await MongoClient.connect(inject('mongoUri'));
    await client.db(DB).dropDatabase();
    dir = await mkdtemp(join(tmpdir(), 'rp-ha-inbox-'));
    await writeFile(join(dir, 'proxy_key'), inboxA.privateKey, { mode: 0o600 });
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.kill('SIGKILL')));
    await client?.db(DB).dropDatabase().catch(() => undefined);
    await client?.close();
    await Promise.all([inboxA?.stop(), inboxB?.stop(), receiver?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function configFor(node: string, own: SshdHandle, other: SshdHandle): Promise<string> {
    const path = join(dir, `${node}-config.yaml`);
    await writeFile(path, `siteId: ${SITE}
sftp:
  host: 127.0.0.1
  port: ${own.port}
  username: ${own.username}
  privateKeyFile: ${join(dir, 'proxy_key')}
  hostKeyFingerprint: "${own.hostKeyFingerprint}"
  remoteDir: .
  settleSeconds: 0.2
  deleteAfterDownloaded: true
  peers:
    - host: 127.0.0.1
      port: ${other.port}
      hostKeyFingerprint: "${other.hostKeyFingerprint}"
archive:
  key: ${KEY}
mongodb:
  uri: "${inject('mongoUri')}"
  database: ${DB}
  writeConcernTimeoutMs: 10000
  allowSingleNode: true
vendor:
  statusUrl: ${receiver.url}
  signingSecret: ${SECRET}
staging:
  dir: ${join(dir, `${node}-staging`)}
  minFreeBytes: 0
schedule:
  pollIntervalMinutes: 60
  retryBaseSeconds: 0.5
  retryMaxSeconds: 2
ha:
  enabled: true
  nodeId: ${node}
  leaseTtlSeconds: ${TTL_SECONDS}
integrity:
  enabled: false
portal:
  host: 127.0.0.1
  port: 0
`, { mode: 0o600 });
    return path;
  }

  it('is imported by the other node from its peer inbox, reported once and removed there', async () => {
    const a = startDaemon('node-a', await configFor('node-a', inboxA, inboxB));
    daemons.push(a);
    await a.waitFor((l) => l.msg === 'lease acquired: this node is the leader', 30_000);
    await a.waitFor((l) => l.msg === 'cycle finished', 30_000);
    const b = startDaemon('node-b', await configFor('node-b', inboxB, inboxA));
    daemons.push(b);
    await b.url();

    // The vendor (through the virtual address, still on node-a) uploads into node-a's inbox; node-a dies right after.
    const pub = await publishDayArchive({
      dataDir: dir, archiveKey: KEY, encryption: 'aes-256', serviceId: 'svc9', jobId: randomUUID(),
      createdAt: new Date(Date.UTC(2026, 10, 20, 2)), seed: 'ha-inbox', records: 60, mediaBytes: 8192,
    });
    await pushArchive({ host: inboxA.host, port: inboxA.port, username: inboxA.username, privateKey: vendor.private, hostKeyFingerprint: inboxA.hostKeyFingerprint, remoteDir: '.' }, pub.path, pub.fileName, pub.sha256);
    await a.kill('SIGKILL');

    await b.waitFor((l) => l.msg === 'lease acquired: this node is the leader', (TTL_SECONDS + 10) * 1000);
    const jobs = client.db(DB).collection<{ _id: string; state: string; remoteRemovedAt?: Date }>('proxy.jobs');
    const deadline = Date.now() + 60_000;
    while (!(await jobs.findOne({ _id: pub.fileName, state: 'reported', remoteRemovedAt: { $exists: true } }))) {
      if (Date.now() > deadline) throw new Error(`not imported by node-b: ${JSON.stringify(await jobs.findOne({ _id: pub.fileName }))}\n${b.logs.slice(-20).map((l) => JSON.stringify(l)).join('\n')}`);
      await sleep(250);
    }
    expect(b.logs.some((l) => l.msg === 'new archive discovered' && l.fileName === pub.fileName && l.server === `127.0.0.1:${inboxA.port}`)).toBe(true);
    expect(receiver.reports.filter((r) => r.fileName === pub.fileName && r.status === 'downloaded')).toHaveLength(1);
    expect(await client.db(DB).collection('history.messages').countDocuments({ '_retention.archive': pub.fileName })).toBeGreaterThan(0);
    expect(await readdir(inboxA.root)).toEqual([]);
    expect((await b.kill('SIGTERM')).code).toBe(0);
  });
});
