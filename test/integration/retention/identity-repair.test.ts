import type { Collection, Db, Document } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillIdentities } from '../../../proxy/importer/identity-backfill.js';
import { prepareIdentity, refreshIdentity } from '../../../proxy/importer/identity.js';
import { ProxyError } from '../../../proxy/errors.js';
import { majority } from '../../../proxy/db/write-concern.js';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

const log = pino({ level: 'silent' });
const WC = majority(10_000);
const CONTACTS = RECORD_COLLECTIONS.contacts;
const JOB = (d: number): string => `0b7f3c1e-2a4d-4e8f-9c1a-5d6e7f8a9b0${d}`;
const ARCHIVE = (d: number): string => `backup_svc-1_${JOB(d)}_2024050${d}020000.zip`;
const stamp = (d: number): Document => ({ jobId: JOB(d), archive: ARCHIVE(d), createdAt: new Date(`2024-05-0${d}T02:00:00Z`), entry: 'dynamic-phonebook/contacts.json', sha256: String(d).repeat(64) });
const mark = { runId: 'r-old', policyId: 'p', at: new Date('2024-06-01T00:00:00Z') };
/** What lists show: the versions not marked superseded. */
const visible = async (db: Db, contactId: string): Promise<string[]> =>
  (await db.collection(CONTACTS).find({ contactId, '_retention.superseded': { $ne: true } }).sort({ _id: 1 }).toArray()).map((d) => String(d._id));

/** A database whose contacts collection fails the first update that carries `op` (an interruption at that write). */
function failingAt(db: Db, op: '$set' | '$unset'): Db {
  let failed = false;
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== 'collection') return Reflect.get(target, prop, receiver) as unknown;
      return (name: string): Collection => {
        const col = target.collection(name);
        return new Proxy(col, {
          get(c, p, r) {
            if (p !== 'updateMany') return Reflect.get(c, p, r) as unknown;
            return (filter: Document, update: Document, options: Document) => {
              if (!failed && op in update) {
                failed = true;
                return Promise.reject(new Error('interrupted'));
              }
              return c.updateMany(filter, update, options);
            };
          },
        });
      };
    },
  });
}

/**
 * Marking superseded versions of a person never hides the person: every write order leaves a duplicate row at
 * worst, and a retry of a restore repairs what an interrupted one left.
 */
describe('identity marks survive interruptions and restores', () => {
  let t: TestDatabase;
  let svc: RetentionService;
  beforeAll(async () => {
    t = await testDatabase('identity_repair');
    svc = new RetentionService({ db: t.db, log, writeConcernTimeoutMs: 10_000, nodeId: 'test', batchSize: 60, batchPauseMs: 0 });
    await svc.ensureIndexes();
  });
  afterAll(async () => {
    await t.drop();
  });

  it('refreshIdentity clears the new winner before marking the others: an interruption between them leaves the person visible', async () => {
    const K = 'c-interrupt';
    // v2 is the newest but marked (as an earlier restore leaves it until refreshed); v1 is the stale winner.
    await t.db.collection(CONTACTS).insertMany([
      { _id: 'i1' as never, contactId: K, name: 'Old', _retention: stamp(1) },
      { _id: 'i2' as never, contactId: K, name: 'New', _retention: { ...stamp(2), superseded: true } },
    ]);
    await expect(refreshIdentity(failingAt(t.db, '$set'), CONTACTS, [K], WC)).rejects.toThrow('interrupted');
    expect((await visible(t.db, K)).length).toBeGreaterThan(0);
    await refreshIdentity(t.db, CONTACTS, [K], WC);
    expect(await visible(t.db, K)).toEqual(['i2']);
  });

  it('prepareIdentity, before archiving the current version, makes the next one current: a crash then leaves a duplicate, not a hole', async () => {
    const K = 'c-prepare';
    await t.db.collection(CONTACTS).insertMany([
      { _id: 'p1' as never, contactId: K, _retention: stamp(1) },
      { _id: 'p2' as never, contactId: K, _retention: stamp(2) },
    ]);
    await refreshIdentity(t.db, CONTACTS, [K], WC);
    expect(await visible(t.db, K)).toEqual(['p2']);
    await prepareIdentity(t.db, CONTACTS, [K], { archived: ['p2'] }, WC);
    expect(await visible(t.db, K)).toEqual(['p1', 'p2']); // the archive write has not happened yet ("crash" here)
    await prepareIdentity(t.db, CONTACTS, [K], { gone: ['p1', 'p2'] }, WC); // nothing left: nothing to clear
    await t.db.collection(CONTACTS).updateOne({ _id: 'p2' as never }, { $set: { _archived: mark } });
    await refreshIdentity(t.db, CONTACTS, [K], WC);
    expect(await visible(t.db, K)).toEqual(['p1']);
  });

  it('restoring a record restores every archived version of its business id, and the newest is shown', async () => {
    const K = 'c-two-archived';
    await t.db.collection(CONTACTS).insertMany([
      { _id: 't1' as never, contactId: K, _retention: stamp(1) },
      { _id: 't2' as never, contactId: K, _retention: stamp(2), _archived: mark },
      { _id: 't3' as never, contactId: K, _retention: stamp(3), _archived: mark },
    ]);
    await refreshIdentity(t.db, CONTACTS, [K], WC);
    expect(await visible(t.db, K)).toEqual(['t1']);
    expect(await svc.restoreRecord('contacts', K, 'needed again', 'admin')).toEqual({ restored: 2 });
    expect(await t.db.collection(CONTACTS).countDocuments({ contactId: K, _archived: { $exists: true } })).toBe(0);
    expect(await visible(t.db, K)).toEqual(['t3']);
  });

  it('a retried restore of a record already restored repairs its marks before answering NOT_ARCHIVED', async () => {
    const K = 'c-hole';
    // What an interrupted refresh of an earlier version left: every version marked, the person hidden.
    await t.db.collection(CONTACTS).insertMany([
      { _id: 'h1' as never, contactId: K, _retention: { ...stamp(1), superseded: true } },
      { _id: 'h2' as never, contactId: K, _retention: { ...stamp(2), superseded: true } },
    ]);
    await expect(svc.restoreRecord('contacts', K, 'retry', 'admin')).rejects.toMatchObject({ code: 'NOT_ARCHIVED' });
    expect(await visible(t.db, K)).toEqual(['h2']);
  });

  it('a crash right after an archive write leaves every person shown (the next version was made current before it)', async () => {
    const col = t.db.collection(CONTACTS);
    const K = 'c-crash';
    await col.insertMany([
      // x1 is current and due; x0 sorts older (no createdAt, as before stamps had it) and is not due (its archive name).
      { _id: 'x1' as never, contactId: K, _retention: stamp(1) },
      { _id: 'x0' as never, contactId: K, _retention: { archive: `backup_svc-1_${JOB(9)}_20991231020000.zip` } },
    ]);
    await refreshIdentity(t.db, CONTACTS, [K], WC);
    expect(await visible(t.db, K)).toEqual(['x1']);
    // Every contacts update after the archive write fails: the process "died" right after it.
    let written = false;
    const db = new Proxy(t.db, {
      get(target, prop, receiver) {
        if (prop !== 'collection') return Reflect.get(target, prop, receiver) as unknown;
        return (name: string): Collection => {
          const c = target.collection(name);
          if (name !== CONTACTS) return c;
          return new Proxy(c, {
            get(cc, p, r) {
              if (p !== 'updateMany') return Reflect.get(cc, p, r) as unknown;
              return async (filter: Document, update: Document, options: Document) => {
                if (written) throw new Error('crashed');
                const res = await cc.updateMany(filter, update, options);
                if ('$set' in update && '_archived' in (update.$set as Document)) written = true;
                return res;
              };
            },
          });
        };
      },
    });
    const crashing = new RetentionService({ db, log, writeConcernTimeoutMs: 10_000, nodeId: 'test', batchSize: 60, batchPauseMs: 0 });
    await crashing.createPolicy({ id: 'contacts-crash', name: 'Contacts crash', dataType: 'contacts', scope: { kind: 'all' }, activeDays: 1, archiveDays: 4000 }, 'admin');
    await crashing.setPolicyMode('contacts-crash', 'enforce', 'Contacts crash', 'admin');
    await crashing.run({ trigger: 'manual', requestedBy: 'test' }).catch(() => undefined);
    expect(written).toBe(true);
    const shown = await col.find({ contactId: K, '_retention.superseded': { $ne: true }, _archived: { $exists: false } }).toArray();
    expect(shown.length).toBeGreaterThan(0);
    await svc.deletePolicy('contacts-crash', 'admin');
    await col.deleteMany({ contactId: K });
  });

  it('the identity backfill on a node that lost the lease writes nothing (LEASE_LOST)', async () => {
    const K = 'c-fenced';
    await t.db.collection(CONTACTS).insertMany([
      { _id: 'f1' as never, contactId: K, _retention: stamp(1) },
      { _id: 'f2' as never, contactId: K, _retention: stamp(2) },
    ]);
    const lost = { token: (): number => { throw new ProxyError('LEASE_LOST', 'not the leader'); } };
    await expect(backfillIdentities(t.db, 10_000, log, undefined, lost)).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(await visible(t.db, K)).toEqual(['f1', 'f2']);
    expect(await backfillIdentities(t.db, 10_000, log, undefined, { token: () => 1 })).toBeGreaterThan(0);
    expect(await visible(t.db, K)).toEqual(['f2']);
  });

  it("restoring a run gives every person back in batches, newest version shown, what the run archived counted once", async () => {
    const col = t.db.collection(CONTACTS);
    await col.deleteMany({});
    const keys = Array.from({ length: 120 }, (_, i) => `c-run-${String(i).padStart(3, '0')}`);
    await col.insertMany(keys.flatMap((k) => [1, 2].map((d) => ({ _id: `${k}-${d}` as never, contactId: k, _retention: stamp(d) }))));
    await refreshIdentity(t.db, CONTACTS, keys, WC);
    await svc.createPolicy({ id: 'contacts-archive', name: 'Contacts archived', dataType: 'contacts', scope: { kind: 'all' }, activeDays: 1, archiveDays: 4000 }, 'admin');
    await svc.setPolicyMode('contacts-archive', 'enforce', 'Contacts archived', 'admin');
    const run = await svc.run({ trigger: 'manual', requestedBy: 'test' });
    expect(run.errors).toEqual([]);
    expect(await col.countDocuments({ _archived: { $exists: true } })).toBe(240);
    // Every version archived: the newest one is current (the archived list and the detail page show it).
    expect(await col.countDocuments({ '_retention.superseded': { $ne: true } })).toBe(120);
    expect(await svc.restoreRun(run._id, 'back', 'admin')).toEqual({ restored: 240 });
    expect(await col.countDocuments({ _archived: { $exists: true } })).toBe(0);
    const shown = await col.find({ '_retention.superseded': { $ne: true } }).toArray();
    expect(shown.map((d) => String(d._id)).sort()).toEqual(keys.map((k) => `${k}-2`));
  });
});
