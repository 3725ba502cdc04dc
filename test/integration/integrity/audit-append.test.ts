import { MongoClient, MongoServerError, type CommandStartedEvent, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ChainAppender } from '../../../proxy/integrity/audit-chain.js';
import { emptyCounts, type Problem } from '../../../proxy/integrity/problems.js';
import { verifyAuditChain } from '../../../proxy/integrity/verify-audit.js';
import { AuditLog, type AuditInput } from '../../../proxy/portal/audit.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

const entry = (n: number): AuditInput => ({ user: 'u', role: 'auditor', action: 'login.failed', target: `users/u${String(n)}`, ip: '127.0.0.1', userAgent: 'test', outcome: 'failed' });

async function problemsOf(t: TestDatabase): Promise<Problem[]> {
  const problems: Problem[] = [];
  await verifyAuditChain(t.db.collection('portal.audit'), (p) => problems.push(p), emptyCounts());
  return problems;
}

describe('appending to the audit chain', () => {
  let t: TestDatabase;
  let monitored: MongoClient;
  const commands: CommandStartedEvent[] = [];
  beforeAll(async () => {
    t = await testDatabase('auditappend');
    monitored = new MongoClient(inject('mongoUri'), { monitorCommands: true });
    monitored.on('commandStarted', (e) => commands.push(e));
    await monitored.connect();
  });
  afterAll(async () => {
    await monitored.close();
    await t.drop();
  });

  it('one proxy writing 100 entries at once: one insert each, the head read once, no race within the process', async () => {
    const audit = new AuditLog(monitored.db(t.name));
    await audit.ensureIndexes();
    commands.length = 0;
    await Promise.all(Array.from({ length: 100 }, (_, i) => audit.record(entry(i))));
    const on = (name: string): number => commands.filter((c) => c.commandName === name && c.command[name] === 'portal.audit').length;
    expect(on('insert')).toBe(100);
    expect(on('find')).toBe(1);
    const seqs = (await t.db.collection('portal.audit').find({}, { projection: { seq: 1 } }).sort({ seq: 1 }).toArray()).map((d) => d.seq as number);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await problemsOf(t)).toEqual([]);
  });

  it('an insert that committed but reported a duplicate key (the driver retried it) is not appended a second time', async () => {
    const real = t.db.collection('portal.audit');
    let fail = true;
    // The collection as the driver behaves when a retried insert meets its own committed first try.
    const flaky = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== 'insertOne') return Reflect.get(target, prop, receiver) as unknown;
        return async (doc: Document) => {
          const res = await target.insertOne(doc);
          if (!fail) return res;
          fail = false;
          throw new MongoServerError({ message: 'E11000 duplicate key error', code: 11000 });
        };
      },
    });
    const chain = new ChainAppender(flaky);
    const a = await chain.append({ ...entry(1000), at: new Date() });
    const b = await chain.append({ ...entry(1001), at: new Date() });
    expect([a.seq, b.seq]).toEqual([101, 102]);
    expect(await real.countDocuments({ target: 'users/u1000' })).toBe(1);
    expect(await problemsOf(t)).toEqual([]);
  });
});
