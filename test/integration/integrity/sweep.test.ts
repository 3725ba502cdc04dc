import { randomBytes } from 'node:crypto';
import { BSON, ObjectId } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyImport, planImport } from '../../../proxy/importer/index.js';
import { FixitySweep, type SweepDoc, type SweepProblemDoc } from '../../../proxy/integrity/sweep.js';
import { SweepScheduler } from '../../../proxy/integrity/sweep-scheduler.js';
import { AuditLog } from '../../../proxy/portal/audit.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID, extractedDir } from '../importer/extracted-dir.js';

const log = pino({ level: 'silent' });
const oid = (n: number): ObjectId => new ObjectId(`6700000000000000000000${n.toString(16).padStart(2, '0')}`);

describe('the fixity sweep: resumable, kept per run, leader only', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('sweep');
    const files: Record<string, string | Buffer> = {
      'history/calls.json': `${[1, 2, 3].map((n) => BSON.EJSON.stringify({ _id: oid(n), callId: `c${String(n)}` }, { relaxed: false })).join('\n')}\n`,
    };
    for (let i = 0; i < 25; i++) files[`data-retention/avatar/a${String(i).padStart(2, '0')}.png`] = randomBytes(200);
    const x = await extractedDir(files);
    try {
      await applyImport(t.db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log });
    } finally {
      await x.remove();
    }
    const audit = new AuditLog(t.db);
    await audit.ensureIndexes();
    await audit.record({ user: 'a', role: 'admin', action: 'login.ok', target: 'users/a', ip: '127.0.0.1', userAgent: 't', outcome: 'ok' });
    await t.db.collection('history.calls').updateOne({ _id: oid(2) }, { $set: { callId: 'forged' } });
    await t.db.collection('media.chunks').deleteMany({ files_id: 'data-retention/avatar/a17.png' });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('stops at a checkpoint, resumes there after a "restart", and keeps each problem once', async () => {
    let paces = 0;
    const first = new FixitySweep(t.db, { node: 'a', pauseMs: 0, log, shouldStop: () => ++paces > 2 });
    expect(await first.run()).toBeUndefined();
    const paused = (await first.latest()) as SweepDoc;
    expect(paused).toMatchObject({ state: 'running', node: 'a', step: 1, collections: ['history.calls'] });
    expect(paused.mediaAfter).toBe('data-retention/avatar/a09.png'); // checkpoint after 10 of 25 files

    const second = new FixitySweep(t.db, { node: 'b', pauseMs: 1, log, shouldStop: () => false });
    const done = await second.run();
    expect(done).toMatchObject({ _id: paused._id, state: 'done', ok: false, problemCounts: { changed: 1, missing: 1, untracked: 0, inserted: 0, removed: 0 } });
    expect(done?.counts).toMatchObject({ records: 3, mediaFiles: 25, auditEntries: 1 });
    expect(await second.latest()).toMatchObject({ state: 'done', node: 'b', resumed: 1, auditHead: { seq: 1 } });
    const problems = await t.db.collection<SweepProblemDoc>('integrity.sweep_problems').find({ sweepId: paused._id }).sort({ _id: 1 }).toArray();
    expect(problems.map((p) => `${p.kind} ${p.collection} ${p.id}`)).toEqual([
      `changed history.calls {"$oid":"${oid(2).toHexString()}"}`,
      'missing media.files data-retention/avatar/a17.png',
    ]);
  });

  it('the scheduler runs a sweep only on the leader and only when one is due (weekly after the last)', async () => {
    let leader = false;
    const scheduler = new SweepScheduler(t.db, { schedule: 'weekly', pauseMs: 0, node: 'c', log, isLeader: () => leader });
    expect(await scheduler.checkNow()).toBeUndefined(); // not the leader
    leader = true;
    expect(await scheduler.checkNow()).toBeUndefined(); // the last sweep finished moments ago
    await t.db.collection<SweepDoc>('integrity.sweeps').updateMany({}, { $set: { finishedAt: new Date(Date.now() - 8 * 86_400_000) } });
    expect(await scheduler.checkNow()).toMatchObject({ state: 'done', node: 'c', ok: false });
    expect(await t.db.collection('integrity.sweeps').countDocuments()).toBe(2);
    await scheduler.stop();
  });
});
