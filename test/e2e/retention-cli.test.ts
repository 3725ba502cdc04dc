import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { RECORD_COLLECTIONS } from '../../proxy/portal/queries/types.js';
import type { Hold, Policy, Run } from '../../proxy/retention/types.js';
import { runCli } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { heldBy } from '../integration/retention/oracle.js';
import { databaseHash, generateRetentionData, type GeneratedData } from '../helpers/retention-data.js';

const DAY = 86_400_000;

/** The built CLI's `retention` verbs on a small generated database (config policies, plan, hold, run, restore). */
describe('retention-proxy retention (built CLI)', () => {
  let t: TestDatabase;
  let dir: string;
  let config: string;
  let data: GeneratedData;

  beforeAll(async () => {
    t = await testDatabase('e2e_retention');
    data = await generateRetentionData(t.db, 99, 1.5);
    dir = await mkdtemp(join(tmpdir(), 'rp-retention-'));
    const key = join(dir, 'key');
    await writeFile(key, 'not used: the retention verbs never connect to SFTP\n', { mode: 0o600 });
    await writeFile(join(dir, 'archive.key'), 'Archive-Key-1\n', { mode: 0o600 });
    config = join(dir, 'config.yaml');
    await writeFile(config, `siteId: e2e-retention
sftp:
  host: 127.0.0.1
  username: vendor
  privateKeyFile: ${key}
  hostKeyFingerprint: "SHA256:${'A'.repeat(43)}"
archive:
  keyFile: ${join(dir, 'archive.key')}
mongodb:
  uri: "${inject('mongoUri')}"
  database: ${t.name}
  writeConcernTimeoutMs: 10000
vendor:
  statusUrl: http://127.0.0.1:9/status
  signingSecret: not-used
staging:
  dir: ${join(dir, 'staging')}
  minFreeBytes: 0
retention:
  batchSize: 5
  batchPauseMs: 0
  policies:
    - id: calls-5y
      name: Calls five years
      dataType: calls
      activeDays: 1000
      archiveDays: 800
      mode: enforce
    - id: messages-dry
      name: Messages report only
      dataType: messages
      activeDays: 30
      archiveDays: 30
`, { mode: 0o600 });
  });
  afterAll(async () => {
    await t.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = async (...args: string[]): Promise<{ code: number | null; json: unknown; stdout: string; stderr: string }> => {
    const res = await runCli(['retention', ...args, '--config', config], { timeoutMs: 120_000 });
    let json: unknown;
    try {
      json = JSON.parse(res.stdout);
    } catch {
      json = undefined;
    }
    return { code: res.code, json, stdout: res.stdout, stderr: res.stderr };
  };

  it('--help lists every verb', async () => {
    const res = await runCli(['retention', '--help']);
    expect(res.code).toBe(0);
    for (const verb of ['plan', 'run', 'policies', 'holds', 'restore', 'runs']) expect(res.stdout).toContain(`retention ${verb}`);
  });

  it('policies come from the configuration; plan --json reports and changes nothing; a hold, then run, acts on the plan', async () => {
    const policies = await cli('policies', '--json');
    expect(policies.code, policies.stderr).toBe(0);
    expect((policies.json as { items: Policy[] }).items.map((p) => [p._id, p.source, p.mode])).toEqual([['calls-5y', 'config', 'enforce'], ['messages-dry', 'config', 'dry-run']]);

    const before = await databaseHash(t.db, ['retention.runs']);
    const plan = await cli('plan', '--json');
    expect(plan.code, plan.stderr).toBe(0);
    const planned = plan.json as Run;
    expect(planned).toMatchObject({ state: 'done', planOnly: true, trigger: 'cli' });
    const callsPlan = planned.plan.find((p) => p.policyId === 'calls-5y');
    expect((callsPlan?.destroy.count ?? 0) + (callsPlan?.archive.count ?? 0)).toBeGreaterThan(0);
    expect(await databaseHash(t.db, ['retention.runs'])).toEqual(before);

    const hold = await cli('holds', 'add', '--name', 'Matter 7', '--reason', 'litigation hold', '--staff', 's1', '--contact', 'c2', '--json');
    expect(hold.code, hold.stderr).toBe(0);
    const placed = hold.json as Hold;
    expect(placed.scope).toEqual({ staff: ['s1'], contacts: ['c2'] });
    expect(((await cli('holds', 'list', '--json')).json as { items: Hold[] }).items.map((h) => h._id)).toEqual([placed._id]);

    const run = await cli('run', '--json');
    expect(run.code, run.stderr).toBe(0);
    const done = run.json as Run;
    expect(done.state).toBe('done');
    const did = done.done.find((d) => d.policyId === 'calls-5y');
    const plannedNow = done.plan.find((p) => p.policyId === 'calls-5y');
    expect(did).toEqual({ policyId: 'calls-5y', archived: plannedNow?.archive.count, destroyed: plannedNow?.destroy.count });
    expect(done.done.find((d) => d.policyId === 'messages-dry')).toBeUndefined();

    // What is left of the calls: only held ones older than 1800 days; archived ones between 1000 and 1800 days.
    const calls = await t.db.collection(RECORD_COLLECTIONS.calls).find({}).toArray();
    const isHeld = heldBy(data, [placed]);
    for (const c of calls) {
      const age = (data.now.getTime() - (c.startedAt as Date).getTime()) / DAY;
      if (age > 1800) expect(isHeld('calls', c), `old call ${String(c.callId)} kept only when held`).toBe(true);
    }
    expect(await t.db.collection(RECORD_COLLECTIONS.messages).countDocuments({ _archived: { $exists: true } })).toBe(0);

    const runs = await cli('runs', '--json');
    expect((runs.json as { items: Run[] }).items.map((r) => r._id)).toEqual([done._id, planned._id]);

    const restored = await cli('restore', '--run', done._id, '--reason', 'wrong policy', '--json');
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.json).toEqual({ restored: did?.archived });
    expect(await t.db.collection(RECORD_COLLECTIONS.calls).countDocuments({ _archived: { $exists: true } })).toBe(0);

    const release = await cli('holds', 'release', placed._id, '--reason', 'matter closed');
    expect(release.code, release.stderr).toBe(0);
    expect(release.stdout).toContain('released');
    const bad = await cli('restore', '--type', 'nonsense', '--id', 'x', '--reason', 'r');
    expect(bad.code).toBe(2);
  });
});
