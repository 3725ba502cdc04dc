import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lease } from '../../../proxy/ha/lease.js';
import { MongoLeaseStore } from '../../../proxy/ha/lease-store.js';
import { RetentionService } from '../../../proxy/retention/index.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ADMIN, AUDITOR, createUsers, login, portalApp, type Login } from '../../helpers/portal-app.js';
import { importSimulatorDay } from '../../helpers/portal-data.js';

const code = (body: string): string | undefined => (body === '' ? undefined : (JSON.parse(body) as { code?: string }).code);
const DAY = 86_400_000;

interface PolicyJson { id: string; name: string; mode: string; source: string; enforcedBy?: string; activeDays: number }
interface RunJson { id: string; state: string; plan: { policyId: string; mode: string; archive: { count: number }; samples: { archive: string[] } }[]; done: { policyId: string; archived: number }[] }

/** The retention routes over an imported simulator day and the real RetentionService. */
describe('retention routes over real data', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let service: RetentionService;
  let admin: Login;
  let auditor: Login;

  beforeAll(async () => {
    t = await testDatabase('ret_routes');
    await importSimulatorDay(t.db, { records: 200, mediaBytes: 16 * 1024 });
    service = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 10_000, nodeId: 'test-node', batchPauseMs: 0 });
    app = await portalApp(t.name, { retention: service });
    await service.ensureIndexes();
    await createUsers(t.db);
    admin = await login(app, ADMIN);
    auditor = await login(app, AUDITOR);
  });
  afterAll(async () => {
    await service.idle();
    await app.close();
    await t.drop();
  });

  const post = (url: string, payload?: object, who: Login = admin) => app.inject({ method: 'POST', url, headers: who.headers, ...(payload ? { payload } : {}) });
  const get = (url: string, who: Login = admin) => app.inject({ url, headers: who.headers });
  const auditOf = (target: string) => t.db.collection('portal.audit').find({ target }).sort({ at: 1 }).toArray();

  async function runToEnd(): Promise<RunJson> {
    const started = await post('/api/v1/retention/runs');
    expect(started.statusCode, started.body).toBe(202);
    const { runId } = started.json<{ runId: string }>();
    for (let i = 0; i < 300; i++) {
      const res = await get(`/api/v1/retention/runs/${runId}`);
      const run = res.json<RunJson>();
      // The run's record is written as it starts, a moment after its id is answered.
      if (res.statusCode === 200 && !['planning', 'running'].includes(run.state)) return run;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`run ${runId} did not finish`);
  }

  it('policies: create (dry-run, portal), list, patch, delete; POLICY_EXISTS, VALIDATION for a scope that does not fit, NOT_FOUND; audited', async () => {
    const body = { id: 'rooms-90', name: 'Rooms 90 days', dataType: 'rooms', scope: { kind: 'all' }, activeDays: 90, archiveDays: 30 };
    const created = await post('/api/v1/retention/policies', body);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ id: 'rooms-90', mode: 'dry-run', source: 'portal', createdBy: ADMIN.username });
    expect(created.json()).not.toHaveProperty('_id');
    expect(code((await post('/api/v1/retention/policies', body)).body)).toBe('POLICY_EXISTS');
    const misfit = await post('/api/v1/retention/policies', { ...body, id: 'rooms-channel', scope: { kind: 'channel', values: ['email'] } });
    expect([misfit.statusCode, code(misfit.body)]).toEqual([400, 'VALIDATION']);

    const list = (await get('/api/v1/retention/policies')).json<{ items: PolicyJson[] }>();
    expect(list.items.map((p) => p.id)).toContain('rooms-90');
    const patched = await app.inject({ method: 'PATCH', url: '/api/v1/retention/policies/rooms-90', headers: admin.headers, payload: { activeDays: 120 } });
    expect(patched.json<PolicyJson>()).toMatchObject({ activeDays: 120, mode: 'dry-run' });
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/retention/policies/rooms-90', headers: admin.headers })).statusCode).toBe(204);
    const gone = await app.inject({ method: 'DELETE', url: '/api/v1/retention/policies/rooms-90', headers: admin.headers });
    expect([gone.statusCode, code(gone.body)]).toEqual([404, 'NOT_FOUND']);
    expect((await auditOf('retention/policies/rooms-90')).map((a): unknown => a.action)).toEqual(['retention.policy.create', 'retention.policy.update', 'retention.policy.delete']);
  });

  it('switching to enforce needs the typed policy name: CONFIRMATION_MISMATCH changes nothing and is audited as failed', async () => {
    await post('/api/v1/retention/policies', { id: 'msgs', name: 'Messages 2 years', dataType: 'messages', scope: { kind: 'all' }, activeDays: 730, archiveDays: 0 });
    for (const confirm of [undefined, 'messages 2 years', 'Messages 2 years ']) {
      const res = await post('/api/v1/retention/policies/msgs/mode', confirm === undefined ? { mode: 'enforce' } : { mode: 'enforce', confirm });
      expect([res.statusCode, code(res.body)], String(confirm)).toEqual([400, 'CONFIRMATION_MISMATCH']);
    }
    expect((await get('/api/v1/retention/policies')).json<{ items: PolicyJson[] }>().items.find((p) => p.id === 'msgs')?.mode).toBe('dry-run');
    const ok = await post('/api/v1/retention/policies/msgs/mode', { mode: 'enforce', confirm: 'Messages 2 years' });
    expect(ok.json<PolicyJson>()).toMatchObject({ mode: 'enforce', enforcedBy: ADMIN.username });
    const back = await post('/api/v1/retention/policies/msgs/mode', { mode: 'dry-run' });
    expect(back.json<PolicyJson>().mode).toBe('dry-run');
    const trail = (await auditOf('retention/policies/msgs')).filter((a) => a.action === 'retention.policy.mode').map((a): unknown => a.outcome);
    expect(trail).toEqual(['failed', 'failed', 'failed', 'ok', 'ok']);
    await app.inject({ method: 'DELETE', url: '/api/v1/retention/policies/msgs', headers: admin.headers });
  });

  it('a policy from the configuration file is shown with its source and is read-only in the portal (POLICY_READ_ONLY)', async () => {
    await service.syncConfigPolicies([{ id: 'cfg-contacts', name: 'Contacts (config)', dataType: 'contacts', scope: { kind: 'all' }, activeDays: 3650, archiveDays: 0, mode: 'dry-run' }]);
    const p = (await get('/api/v1/retention/policies')).json<{ items: PolicyJson[] }>().items.find((x) => x.id === 'cfg-contacts');
    expect(p?.source).toBe('config');
    for (const res of [
      await app.inject({ method: 'PATCH', url: '/api/v1/retention/policies/cfg-contacts', headers: admin.headers, payload: { activeDays: 1 } }),
      await post('/api/v1/retention/policies/cfg-contacts/mode', { mode: 'enforce', confirm: 'Contacts (config)' }),
      await app.inject({ method: 'DELETE', url: '/api/v1/retention/policies/cfg-contacts', headers: admin.headers }),
    ]) expect([res.statusCode, code(res.body)]).toEqual([409, 'POLICY_READ_ONLY']);
    await service.syncConfigPolicies([]);
  });

  it('legal holds: place, list, export as ZIP, release with a reason, HOLD_RELEASED; audited', async () => {
    const room = await t.db.collection<{ roomId: string }>('history.rooms').findOne({});
    const created = await post('/api/v1/retention/holds', { name: 'Matter 7', reason: 'Litigation', scope: { rooms: [room?.roomId ?? ''], from: '2020-01-01T00:00:00Z' } });
    expect(created.statusCode, created.body).toBe(201);
    const hold = created.json<{ id: string; name: string; scope: { from: string }; createdBy: string }>();
    expect(hold).toMatchObject({ name: 'Matter 7', createdBy: ADMIN.username, scope: { from: '2020-01-01T00:00:00.000Z' } });
    expect((await get('/api/v1/retention/holds')).json<{ items: { id: string }[] }>().items.map((h) => h.id)).toContain(hold.id);
    const zip = await get(`/api/v1/retention/holds/${hold.id}/export.zip`);
    expect(zip.statusCode).toBe(200);
    expect(zip.headers['content-type']).toBe('application/zip');
    expect(zip.rawPayload.subarray(0, 2).toString()).toBe('PK');
    const released = await post(`/api/v1/retention/holds/${hold.id}/release`, { reason: 'Settled' });
    expect(released.json()).toMatchObject({ id: hold.id, releasedBy: ADMIN.username, releaseReason: 'Settled' });
    expect(code((await post(`/api/v1/retention/holds/${hold.id}/release`, { reason: 'again' })).body)).toBe('HOLD_RELEASED');
    expect((await get('/api/v1/retention/holds?state=released')).json<{ items: { id: string }[] }>().items.map((h) => h.id)).toContain(hold.id);
    expect((await get('/api/v1/retention/holds?state=active')).json<{ items: { id: string }[] }>().items.map((h) => h.id)).not.toContain(hold.id);
    expect((await auditOf(`retention/holds/${hold.id}`)).map((a): unknown => a.action)).toEqual(['retention.hold.create', 'retention.hold.export', 'retention.hold.release']);
  });

  it('record status: the policy that keeps a record longest, its archive and destroy dates, its holds (auditor too); a file\'s binary by its media category', async () => {
    const call = await t.db.collection<{ callId: string; roomId: string; startedAt: Date }>('history.calls').findOne({});
    if (!call) throw new Error('no call');
    const none = (await get(`/api/v1/retention/record/calls/${call.callId}`, auditor)).json<unknown>();
    expect(none).toEqual({ policy: null, archiveAt: null, destroyAt: null, holds: [] });
    await post('/api/v1/retention/policies', { id: 'calls-short', name: 'Calls short', dataType: 'calls', scope: { kind: 'all' }, activeDays: 10, archiveDays: 10 });
    await post('/api/v1/retention/policies', { id: 'calls-room', name: 'Calls of the room', dataType: 'calls', scope: { kind: 'room', ids: [call.roomId] }, activeDays: 30, archiveDays: 60 });
    const hold = (await post('/api/v1/retention/holds', { name: 'Room hold', reason: 'Audit', scope: { rooms: [call.roomId] } })).json<{ id: string }>();
    const status = await get(`/api/v1/retention/record/calls/${call.callId}`, auditor);
    expect(status.statusCode, status.body).toBe(200);
    expect(status.json()).toEqual({
      policy: { id: 'calls-room', name: 'Calls of the room', mode: 'dry-run' },
      archiveAt: new Date(call.startedAt.getTime() + 30 * DAY).toISOString(),
      destroyAt: new Date(call.startedAt.getTime() + 90 * DAY).toISOString(),
      holds: [{ id: hold.id, name: 'Room hold' }],
    });
    const unknown = await get('/api/v1/retention/record/calls/no-such-call', auditor);
    expect([unknown.statusCode, code(unknown.body)]).toEqual([404, 'NOT_FOUND']);
    await post(`/api/v1/retention/holds/${hold.id}/release`, { reason: 'done' });

    // a voicemail: its file record (list type `voicemails`) and its binary (media:voicemail, by storage path) have their own policies
    const vm = await t.db.collection<{ fileId: string; storagePath: string; uploadedAt: Date }>('file-management.files').findOne({ category: 'voicemail' });
    if (!vm) throw new Error('no voicemail');
    await post('/api/v1/retention/policies', { id: 'vm-media', name: 'Voicemail audio', dataType: 'media:voicemail', scope: { kind: 'all' }, activeDays: 7, archiveDays: 0 });
    expect((await get(`/api/v1/retention/record/voicemails/${vm.fileId}`, auditor)).json()).toMatchObject({ policy: null });
    const media = (await get(`/api/v1/retention/record/media:voicemail/${encodeURIComponent(vm.storagePath)}`, auditor)).json<unknown>();
    expect(media).toMatchObject({ policy: { id: 'vm-media' }, archiveAt: new Date(vm.uploadedAt.getTime() + 7 * DAY).toISOString() });
    for (const id of ['calls-short', 'calls-room', 'vm-media']) await app.inject({ method: 'DELETE', url: `/api/v1/retention/policies/${id}`, headers: admin.headers });
  });

  it('runs: dry-run plans and changes nothing; enforced, records are archived (hidden from auditors), viewable by admins and restorable', async () => {
    const conferences = await t.db.collection('history.conference-calls').countDocuments();
    expect(conferences).toBeGreaterThan(1);
    await post('/api/v1/retention/policies', { id: 'conf-1d', name: 'Conferences 1 day', dataType: 'conferences', scope: { kind: 'all' }, activeDays: 1, archiveDays: 5000 });

    const dry = await runToEnd();
    expect(dry.state).toBe('done');
    const entry = dry.plan.find((p) => p.policyId === 'conf-1d');
    expect(entry).toMatchObject({ mode: 'dry-run', archive: { count: conferences } });
    expect(await t.db.collection('history.conference-calls').countDocuments({ _archived: { $exists: true } })).toBe(0);
    expect((await get('/api/v1/retention/runs?limit=5')).json<{ items: { id: string }[] }>().items[0]?.id).toBe(dry.id);

    await post('/api/v1/retention/policies/conf-1d/mode', { mode: 'enforce', confirm: 'Conferences 1 day' });
    const run = await runToEnd();
    expect(run.done.find((d) => d.policyId === 'conf-1d')?.archived).toBe(conferences);
    const sample = run.plan.find((p) => p.policyId === 'conf-1d')?.samples.archive[0] ?? '';

    // hidden from the auditor (its page and its retention status); the admin sees it in the archived list and page
    expect((await get(`/api/v1/conferences/${sample}`, auditor)).statusCode).toBe(404);
    expect((await get(`/api/v1/retention/record/conferences/${sample}`, auditor)).statusCode).toBe(404);
    expect((await get(`/api/v1/retention/record/conferences/${sample}`)).json()).toMatchObject({ archived: { runId: run.id, policyId: 'conf-1d' } });
    const archived = (await get('/api/v1/retention/archived?type=conferences&limit=200')).json<{ items: { type: string; id: string }[] }>();
    expect(archived.items).toHaveLength(conferences);
    const one = await get(`/api/v1/retention/archived/conferences/${sample}`);
    expect(one.json()).toMatchObject({ archived: { runId: run.id, policyId: 'conf-1d' } });
    expect((await auditOf(`conferences/${sample}`)).map((a): unknown => a.action)).toContain('retention.archived.view');

    // back to dry-run, then restore one record, then the rest of the run
    await post('/api/v1/retention/policies/conf-1d/mode', { mode: 'dry-run' });
    const restoredOne = await post(`/api/v1/retention/archived/conferences/${sample}/restore`, { reason: 'Needed for a report' });
    expect(restoredOne.json()).toEqual({ restored: 1 });
    expect((await get(`/api/v1/conferences/${sample}`, auditor)).statusCode).toBe(200);
    expect(code((await post(`/api/v1/retention/archived/conferences/${sample}/restore`, { reason: 'again' })).body)).toBe('NOT_ARCHIVED');
    const restoredRun = await post(`/api/v1/retention/runs/${run.id}/restore`, { reason: 'Policy set too short' });
    expect(restoredRun.json()).toEqual({ restored: conferences - 1 });
    expect(await t.db.collection('history.conference-calls').countDocuments({ _archived: { $exists: true } })).toBe(0);
    const actions = (await t.db.collection('portal.audit').find({ action: { $in: ['retention.run', 'retention.restore'] } }).toArray()).map((a) => `${String(a.action)} ${String(a.target)}`);
    expect(actions).toEqual(expect.arrayContaining([`retention.run retention/runs/${run.id}`, `retention.restore conferences/${sample}`, `retention.restore retention/runs/${run.id}`]));
  });

  it('"run now" on a node that does not hold the HA lease: 409 NOT_LEADER naming the leader; nothing is started', async () => {
    const store = new MongoLeaseStore(t.db, 10_000);
    const log = pino({ level: 'silent' });
    const leader = new Lease({ siteId: 'ret-routes', nodeId: 'node-a', ttlMs: 30_000, store, log });
    const follower = new Lease({ siteId: 'ret-routes', nodeId: 'node-b', ttlMs: 30_000, store, log });
    expect(await leader.tryAcquire()).toBe(true);
    expect(await follower.tryAcquire()).toBe(false);
    const onFollower = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'node-b', lease: follower });
    const app2 = await portalApp(t.name, { retention: onFollower });
    try {
      const s2 = await login(app2, ADMIN);
      const before = await t.db.collection('retention.runs').countDocuments();
      const res = await app2.inject({ method: 'POST', url: '/api/v1/retention/runs', headers: s2.headers });
      expect([res.statusCode, code(res.body)]).toEqual([409, 'NOT_LEADER']);
      expect(res.json<{ details?: { leader?: string } }>().details?.leader).toBe('node-a');
      expect(await t.db.collection('retention.runs').countDocuments()).toBe(before);
    } finally {
      await app2.close();
      await leader.release();
    }
  });
});
