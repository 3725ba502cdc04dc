import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { RetentionService } from '../../proxy/retention/service.js';
import type { DataType, Policy, PolicyScope } from '../../proxy/retention/types.js';
import { runCli } from '../helpers/cli.js';
import { testDatabase } from '../helpers/db.js';
import { generateRetentionData, prng } from '../helpers/retention-data.js';
import { expectedOutcomes, goneWithoutTombstone, outcomeProblems } from '../integration/retention/oracle.js';

const TRIALS = 22;

const POLICIES: { id: string; dataType: DataType; scope: PolicyScope; activeDays: number; archiveDays: number }[] = [
  { id: 'calls', dataType: 'calls', scope: { kind: 'all' }, activeDays: 1000, archiveDays: 800 },
  { id: 'files-some-rooms', dataType: 'files', scope: { kind: 'room', ids: ['r0', 'r1', 'r2', 'r3'] }, activeDays: 600, archiveDays: 600 },
  { id: 'messages', dataType: 'messages', scope: { kind: 'all' }, activeDays: 1500, archiveDays: 0 },
  { id: 'recordings', dataType: 'media:call-recording', scope: { kind: 'all' }, activeDays: 300, archiveDays: 300 },
  { id: 'web-enquiries', dataType: 'enquiries', scope: { kind: 'channel', values: ['web'] }, activeDays: 800, archiveDays: 1000 },
  { id: 'staff', dataType: 'staff', scope: { kind: 'all' }, activeDays: 1000, archiveDays: 1000 },
  { id: 'rooms', dataType: 'rooms', scope: { kind: 'all' }, activeDays: 3000, archiveDays: 500 },
];

function yamlPolicies(): string {
  return POLICIES.map((p) => `    - id: ${p.id}\n      name: ${p.id}\n      dataType: "${p.dataType}"\n      scope: ${JSON.stringify(p.scope)}\n      activeDays: ${p.activeDays}\n      archiveDays: ${p.archiveDays}\n      mode: enforce`).join('\n');
}

/**
 * SIGKILL at random points of enforcing runs of the built CLI, then a restart (another run): no record or binary is
 * ever gone without a tombstone, and after the restart everything is where the rules say, with no orphaned media.
 */
describe('retention crash trials (SIGKILL during enforcing runs of the built CLI)', () => {
  let dir: string;
  let killed = 0;
  const r = prng(20261202);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rp-retention-crash-'));
    await writeFile(join(dir, 'key'), 'not used\n', { mode: 0o600 });
    await writeFile(join(dir, 'archive.key'), 'Archive-Key-1\n', { mode: 0o600 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (let trial = 0; trial < TRIALS; trial++) {
    it(`trial ${trial}`, async () => {
      const t = await testDatabase(`ret_crash_${trial}`);
      try {
        const data = await generateRetentionData(t.db, 500 + trial, 1);
        const config = join(dir, `config-${trial}.yaml`);
        await writeFile(config, `siteId: crash
sftp:
  host: 127.0.0.1
  username: vendor
  privateKeyFile: ${join(dir, 'key')}
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
  batchSize: ${r.int(2, 6)}
  batchPauseMs: 20
  policies:
${yamlPolicies()}
`, { mode: 0o600 });
        const svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 10_000, nodeId: 'test' });
        const hold = await svc.createHold({ name: 'matter', reason: 'crash trial', scope: r.chance(0.5) ? { staff: [`s${r.int(0, 5)}`] } : { rooms: [`r${r.int(0, 7)}`] } }, 'test');

        const first = await runCli(['retention', 'run', '--config', config], { timeoutMs: 120_000, killWhen: (l) => l.msg === 'retention run started', killDelayMs: r.int(0, 1500) });
        if (first.killed) killed++;
        // Right after the kill: nothing is gone without its tombstone.
        expect(await goneWithoutTombstone(t.db, data)).toEqual([]);

        const second = await runCli(['retention', 'run', '--json', '--config', config], { timeoutMs: 120_000 });
        expect(second.code, second.stderr).toBe(0);
        const policies: Policy[] = await svc.listPolicies();
        expect(policies.map((p) => p._id).sort()).toEqual(POLICIES.map((p) => p.id).sort());
        expect(await outcomeProblems(t.db, data, expectedOutcomes(data, policies, [hold]))).toEqual([]);
        const runs = await t.db.collection('retention.runs').find({}).toArray();
        expect(runs.filter((x) => x.state === 'running' || x.state === 'planning' || x.inFlight !== undefined)).toEqual([]);
      } finally {
        await t.drop();
      }
    });
  }

  it('most trials were killed in the middle of a run', () => {
    expect(killed).toBeGreaterThanOrEqual(20);
  });
});
