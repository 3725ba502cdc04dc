import { MongoClient, ObjectId, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { auditEntryHash, GENESIS_HASH } from '../../../proxy/integrity/audit-chain.js';
import { emptyCounts, type Problem } from '../../../proxy/integrity/problems.js';
import { verifyAuditChain } from '../../../proxy/integrity/verify-audit.js';
import { AuditLog, type AuditDoc, type AuditInput } from '../../../proxy/portal/audit.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

const entry = (user: string, n: number): AuditInput => ({
  user, role: 'auditor', action: 'record.view', target: `calls/${String(n)}`, ip: '127.0.0.1', userAgent: 'test', outcome: 'ok', details: { n, maybe: undefined },
});

async function walk(t: TestDatabase): Promise<{ problems: Problem[]; head: { seq: number; hash: string } | null; legacy: number }> {
  const problems: Problem[] = [];
  const counts = emptyCounts();
  const head = await verifyAuditChain(t.db.collection('portal.audit'), (p) => problems.push(p), counts);
  return { problems, head, legacy: counts.legacyAuditEntries };
}

describe('the audit log as a hash chain', () => {
  let t: TestDatabase;
  let second: MongoClient;
  beforeAll(async () => {
    t = await testDatabase('auditchain');
    second = new MongoClient(inject('mongoUri'));
    await second.connect();
  });
  afterAll(async () => {
    await second.close();
    await t.drop();
  });

  it('two writers on two connections appending at once leave one gap-free chain that verifies', async () => {
    // Entries from before the chain existed: legacy, not tampering.
    await t.db.collection('portal.audit').insertMany([
      { at: new Date(Date.now() - 60_000), user: 'old', role: 'admin', action: 'login.ok', target: 'users/old', ip: '::1', userAgent: 'x', outcome: 'ok' },
      { at: new Date(Date.now() - 50_000), user: 'old', role: 'admin', action: 'logout', target: 'users/old', ip: '::1', userAgent: 'x', outcome: 'ok' },
    ]);
    const a = new AuditLog(t.db);
    const b = new AuditLog(second.db(t.name));
    await a.ensureIndexes();
    await Promise.all([
      ...Array.from({ length: 25 }, (_, i) => a.record(entry('proxy-a', i))),
      ...Array.from({ length: 25 }, (_, i) => b.record(entry('proxy-b', i))),
    ]);
    const chained = await t.db.collection<AuditDoc>('portal.audit').find({ seq: { $exists: true } }).sort({ seq: 1 }).toArray();
    expect(chained.map((d) => d.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(chained[0]?.prevHash).toBe(GENESIS_HASH);
    expect(chained.filter((d) => d.user === 'proxy-b')).toHaveLength(25);
    const { problems, head, legacy } = await walk(t);
    expect(problems).toEqual([]);
    expect(legacy).toBe(2);
    expect(head).toEqual({ seq: 50, hash: chained[49]?.hash });
  });

  it('names the entry edited, the entry removed and the entry forged, and nothing else', async () => {
    const col = t.db.collection<AuditDoc>('portal.audit');
    await col.updateOne({ seq: 7 }, { $set: { target: 'calls/someone-else' } });
    await col.deleteOne({ seq: 20 });
    const last = await col.findOne({ seq: 50 });
    await col.insertOne({ ...entry('forger', 0), at: new Date(), seq: 51, prevHash: 'f'.repeat(64), hash: 'e'.repeat(64) });
    await col.insertOne({ ...entry('sneaky', 1), at: new Date() }); // no chain fields, dated after the chain began
    const { problems } = await walk(t);
    expect(problems.map((p) => [p.kind, p.id])).toEqual([
      ['changed', 'seq 7'],
      ['removed', 'seq 20'],
      ['inserted', 'seq 51'],
      ['unchained', expect.stringMatching(/^_id /) as string],
    ]);
    expect(last?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names an entry whose hash was recomputed after editing it (the next entry no longer links to it)', async () => {
    const col = t.db.collection<AuditDoc>('portal.audit');
    await col.deleteMany({ user: { $in: ['forger', 'sneaky'] } });
    // Someone who knows the algorithm edits entry 3 and recomputes its hash: entry 4 still links to the old one.
    await col.updateOne({ seq: 3 }, { $set: { target: 'calls/other' } });
    const e3 = await col.findOne({ seq: 3 }, { promoteValues: false });
    await col.updateOne({ seq: 3 }, { $set: { hash: auditEntryHash(e3 as Document) } });
    // An entry whose hash alone was overwritten is named once, not again for the broken link after it.
    await col.updateOne({ seq: 30 }, { $set: { hash: 'a'.repeat(64) } });
    const { problems } = await walk(t);
    expect(problems.map((p) => [p.kind, p.id])).toEqual([
      ['changed', 'seq 3'],
      ['changed', 'seq 7'],
      ['removed', 'seq 20'],
      ['changed', 'seq 30'],
    ]);
  });
});

describe('an entry forged with the seq of a genuine one', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('auditdup');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('is the one named (by its _id), also when it sorts before the genuine entry; the genuine one is not blamed', async () => {
    const a = new AuditLog(t.db);
    await a.ensureIndexes();
    for (let i = 0; i < 8; i++) await a.record(entry('proxy-a', i));
    const col = t.db.collection<AuditDoc>('portal.audit');
    const genuine = (await col.findOne({ seq: 5 })) as AuditDoc;
    await col.dropIndex('seq_unique'); // the forger has database access
    const forgedId = ObjectId.createFromTime(1); // sorts before every real entry
    await col.insertOne({ ...entry('forger', 0), at: new Date(), _id: forgedId, seq: 5, prevHash: genuine.prevHash, hash: 'e'.repeat(64) });
    const { problems } = await walk(t);
    expect(problems.map((p) => [p.kind, p.id, p.detail])).toEqual([['inserted', 'seq 5', `a second entry with this seq (_id ${forgedId.toHexString()})`]]);
  });
});
