import { BSON, type Db } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetentionService } from '../../../proxy/retention/service.js';
import { tombstoneId } from '../../../proxy/retention/tombstones.js';
import { DATA_TYPES, RETENTION_COLLECTIONS, type DataType, type Hold, type Policy, type PolicyScope } from '../../../proxy/retention/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { databaseHash, generateRetentionData, prng, type GeneratedData } from '../../helpers/retention-data.js';
import { expectedOutcomes } from './oracle.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

function randomScope(r: ReturnType<typeof prng>, type: DataType): PolicyScope {
  if (r.chance(0.45)) return { kind: 'all' };
  if (type === 'enquiries') return { kind: 'channel', values: [r.pick(['web', 'phone', 'mail'])] };
  if (type === 'staff') return { kind: 'department', values: [r.pick(['sales', 'support', 'legal'])] };
  if (type === 'contacts') return { kind: 'all' };
  return { kind: 'room', ids: [...new Set([r.pick(['r0', 'r1', 'r2', 'r3']), r.pick(['r4', 'r5', 'r6', 'r7'])])] };
}

async function randomSetup(svc: RetentionService, seed: number): Promise<void> {
  const r = prng(seed * 7919);
  const n = r.int(4, 9);
  for (let i = 0; i < n; i++) {
    // Every third policy reuses a data type, so precedence between overlapping policies is exercised.
    const dataType = i % 3 === 2 ? r.pick(['calls', 'messages', 'files', 'media:call-recording', 'enquiries'] as const) : r.pick(DATA_TYPES);
    const name = `Policy ${i}`;
    await svc.createPolicy({ id: `p${i}`, name, dataType, scope: randomScope(r, dataType), activeDays: r.int(1, 4000), archiveDays: r.int(0, 3000) }, 'admin');
    if (r.chance(0.8)) await svc.setPolicyMode(`p${i}`, 'enforce', name, 'admin');
  }
  for (let i = r.int(0, 2); i > 0; i--) {
    const scope: Record<string, unknown> = {};
    if (r.chance(0.4)) scope.staff = [`s${r.int(0, 5)}`];
    if (r.chance(0.3)) scope.contacts = [`c${r.int(0, 5)}`];
    if (r.chance(0.3)) scope.rooms = [`r${r.int(0, 7)}`];
    if (r.chance(0.3)) scope.enquiries = [`e${r.int(0, 7)}`];
    if (r.chance(0.3) || Object.keys(scope).length === 0) {
      const a = r.int(0, 4000);
      const b = r.int(0, 4000);
      scope.from = new Date(Date.now() - Math.max(a, b) * 86_400_000);
      if (r.chance(0.5)) scope.to = new Date(Date.now() - Math.min(a, b) * 86_400_000);
    }
    await svc.createHold({ name: `Matter ${i}`, reason: 'litigation', scope }, 'admin');
  }
}

interface SeedRun { t: TestDatabase; data: GeneratedData; svc: RetentionService; policies: Policy[]; holds: Hold[] }

async function seedRun(seed: number): Promise<SeedRun> {
  const t = await testDatabase(`ret_rand_${seed}`);
  const data = await generateRetentionData(t.db, seed);
  const svc = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'test', batchSize: 7, batchPauseMs: 0, now: () => data.now });
  await svc.ensureIndexes();
  await randomSetup(svc, seed);
  return { t, data, svc, policies: await svc.listPolicies(), holds: await svc.listHolds() };
}

async function exists(db: Db, collection: string, id: unknown): Promise<Record<string, unknown> | null> {
  return db.collection(collection).findOne({ _id: id as never });
}

const SEEDS = [11, 23, 37, 41, 59, 73];

describe('retention: randomized policies and holds over generated records and media', () => {
  const runs: SeedRun[] = [];
  const totals = { destroyed: 0, archived: 0, held: 0 };
  afterAll(async () => {
    for (const r of runs) await r.t.drop();
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: held data is never archived or destroyed, everything else ends where the rules say`, async () => {
      const s = await seedRun(seed);
      runs.push(s);
      const { t, data, svc, policies, holds } = s;
      const expected = expectedOutcomes(data, policies, holds);

      const plan = await svc.plan({ trigger: 'cli', requestedBy: 'test' });
      expect(plan.state).toBe('done');
      const run = await svc.run({ trigger: 'manual', requestedBy: 'test' });
      expect(run.errors).toEqual([]);
      expect(run.state).toBe('done');

      let destroyed = 0;
      let archived = 0;
      for (const [col, docs] of data.docs) {
        for (const d of docs) {
          const key = `${col}|${String(d._id)}`;
          const want = expected.records.get(key);
          const now = await exists(t.db, col, d._id);
          const stone = await t.db.collection(RETENTION_COLLECTIONS.tombstones).findOne({ _id: tombstoneId(col, d._id) as never });
          if (expected.held.has(key)) expect(now && !now._archived, `held ${key} untouched`).toBe(true);
          if (want === 'destroy') {
            destroyed++;
            expect(now, `${key} destroyed`).toBeNull();
            expect(stone?.sha256, `${key} tombstone`).toBe((d._retention as { sha256: string }).sha256);
          } else {
            expect(now, `${key} still there (${want})`).not.toBeNull();
            expect(stone, `${key} no tombstone`).toBeNull();
            if (want === 'archive') archived++;
            expect(Boolean(now?._archived), `${key} archived = ${want === 'archive'}`).toBe(want === 'archive');
            // Nothing but the marker changed.
            const { _archived, ...rest } = now ?? {};
            expect(BSON.EJSON.stringify(rest, { relaxed: false })).toBe(BSON.EJSON.stringify(d, { relaxed: false }));
          }
        }
      }
      for (const [path, want] of expected.media) {
        const stored = await t.db.collection<{ _id: string; metadata?: { archived?: unknown } }>('media.files').findOne({ _id: path });
        const chunks = await t.db.collection('media.chunks').countDocuments({ files_id: path });
        if (want === 'destroy') {
          expect(stored, `${path} destroyed`).toBeNull();
          expect(chunks, `${path} chunks gone`).toBe(0);
          expect(await t.db.collection(RETENTION_COLLECTIONS.tombstones).findOne({ _id: tombstoneId('media.files', path) as never }), `${path} tombstone`).not.toBeNull();
        } else {
          expect(stored, `${path} kept (${want})`).not.toBeNull();
          expect(chunks).toBeGreaterThan(0);
          expect(Boolean(stored?.metadata?.archived), `${path} archived = ${want === 'archive'}`).toBe(want === 'archive');
        }
      }
      // The plan said the same as what happened (enforcing policies only; a policy's media may also go with its file records).
      const enforcing = plan.plan.filter((p) => p.mode === 'enforce' && !p.dataType.startsWith('media:'));
      expect(enforcing.reduce((a, p) => a + p.destroy.count, 0)).toBe(run.done.filter((d) => !policies.find((p) => p._id === d.policyId)?.dataType.startsWith('media:')).reduce((a, d) => a + d.destroyed, 0));
      totals.destroyed += destroyed;
      totals.archived += archived;
      totals.held += expected.held.size;

      // A second run finds nothing left to do and changes nothing.
      const before = await databaseHash(t.db, [RETENTION_COLLECTIONS.runs, RETENTION_COLLECTIONS.locks]);
      const again = await svc.run({ trigger: 'manual', requestedBy: 'test' });
      expect(again.done.every((d) => d.archived === 0 && d.destroyed === 0)).toBe(true);
      expect(await databaseHash(t.db, [RETENTION_COLLECTIONS.runs, RETENTION_COLLECTIONS.locks])).toEqual(before);
    });
  }

  it('the seeds exercised destruction, archiving and holds', () => {
    expect(totals.destroyed).toBeGreaterThan(20);
    expect(totals.archived).toBeGreaterThan(5);
    expect(totals.held).toBeGreaterThan(10);
  });
});

describe('retention: dry-run', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('ret_dry');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('a run of dry-run policies, and a plan of enforcing ones, change nothing (hash of every collection before and after)', async () => {
    const data = await generateRetentionData(t.db, 5);
    const svc = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'test', batchSize: 5, batchPauseMs: 0, now: () => data.now });
    for (const [i, dataType] of DATA_TYPES.entries()) await svc.createPolicy({ id: `d${i}`, name: `D${i}`, dataType, scope: { kind: 'all' }, activeDays: 1000, archiveDays: 1500 }, 'admin');
    await svc.createHold({ name: 'h', reason: 'r', scope: { staff: ['s1'] } }, 'admin');
    const before = await databaseHash(t.db, [RETENTION_COLLECTIONS.runs]);
    const run = await svc.run({ trigger: 'manual', requestedBy: 'test' });
    expect(run.state).toBe('done');
    const sum = (k: 'archive' | 'destroy' | 'heldBack'): number => run.plan.reduce((a, p) => a + p[k].count, 0);
    expect([sum('archive') > 0, sum('destroy') > 0, sum('heldBack') > 0]).toEqual([true, true, true]);
    expect(run.done).toEqual([]);
    expect(await databaseHash(t.db, [RETENTION_COLLECTIONS.runs])).toEqual(before);

    await svc.setPolicyMode('d0', 'enforce', 'D0', 'admin');
    const planned = await svc.plan({ trigger: 'cli', requestedBy: 'test' });
    expect(planned.planOnly).toBe(true);
    expect(await databaseHash(t.db, [RETENTION_COLLECTIONS.runs, RETENTION_COLLECTIONS.policies])).toEqual(Object.fromEntries(Object.entries(before).filter(([k]) => k !== RETENTION_COLLECTIONS.policies)));
  });
});
