import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEAL_ENTRIES_COLLECTION, sealLegacyAudit } from '../../../proxy/integrity/audit-seal.js';
import { emptyCounts, type Problem } from '../../../proxy/integrity/problems.js';
import { verifyAuditChain } from '../../../proxy/integrity/verify-audit.js';
import { AuditLog } from '../../../proxy/portal/audit.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

const legacy = (n: number): { _id: ObjectId; at: Date; user: string; role: string; action: string; target: string; ip: string; userAgent: string; outcome: string } => ({
  _id: new ObjectId(`65000000000000000000000${String(n)}`), at: new Date(Date.UTC(2025, 0, n)), user: 'old', role: 'admin', action: 'record.view', target: `calls/${String(n)}`, ip: '::1', userAgent: 'old proxy', outcome: 'ok',
});

describe('audit seal: the legacy (pre-chain) audit entries sealed into the chain', () => {
  let t: TestDatabase;
  let audit: AuditLog;
  const walk = async (): Promise<{ problems: string[]; legacy: number; sealed: number }> => {
    const found: Problem[] = [];
    const counts = emptyCounts();
    await verifyAuditChain(t.db.collection('portal.audit'), (p) => found.push(p), counts, undefined, t.db);
    return { problems: found.map((p) => `${p.kind} ${p.id}`).sort(), legacy: counts.legacyAuditEntries, sealed: counts.sealedLegacyAuditEntries };
  };
  beforeAll(async () => {
    t = await testDatabase('auditseal');
    await t.db.collection('portal.audit').insertMany([1, 2, 3, 4].map(legacy));
    audit = new AuditLog(t.db);
    await audit.ensureIndexes();
    await audit.record({ user: 'admin', role: 'admin', action: 'login.ok', target: 'users/admin', ip: '127.0.0.1', userAgent: 't', outcome: 'ok' });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('appends one audit.seal entry with the count and root; a clean log stays clean; a second seal writes nothing', async () => {
    expect(await walk()).toEqual({ problems: [], legacy: 4, sealed: 0 });
    const sealed = await sealLegacyAudit(t.db, audit, 'cli');
    expect(sealed).toMatchObject({ sealed: true, seq: 2, details: { count: 4 } });
    expect(await t.db.collection('portal.audit').findOne({ seq: 2 })).toMatchObject({ action: 'audit.seal', user: 'cli', details: { count: 4 } });
    expect(await walk()).toEqual({ problems: [], legacy: 4, sealed: 4 });
    expect(await sealLegacyAudit(t.db, audit, 'cli')).toMatchObject({ sealed: false, reason: 'already-sealed', seq: 2 });
    expect(await t.db.collection('portal.audit').countDocuments({ action: 'audit.seal' })).toBe(1);
  });

  it('names a legacy entry edited, deleted or added with an old date after the seal, and nothing else', async () => {
    const col = t.db.collection<ReturnType<typeof legacy>>('portal.audit');
    await col.updateOne({ _id: legacy(2)._id }, { $set: { target: 'calls/999' } });
    expect((await walk()).problems).toEqual([`changed _id ${legacy(2)._id.toHexString()}`]);
    await col.updateOne({ _id: legacy(2)._id }, { $set: { target: 'calls/2' } });
    expect((await walk()).problems).toEqual([]);

    await col.deleteOne({ _id: legacy(3)._id });
    await col.insertOne({ ...legacy(5), at: new Date(Date.UTC(2025, 0, 3)) });
    expect((await walk()).problems).toEqual([`inserted _id ${legacy(5)._id.toHexString()}`, `removed _id ${legacy(3)._id.toHexString()}`]);
  });

  it('when the seal\'s entry list was altered too, says the legacy entries differ without naming one', async () => {
    await t.db.collection(SEAL_ENTRIES_COLLECTION).deleteMany({});
    expect((await walk()).problems).toEqual(['changed legacy entries']);
  });
});
