import { rm } from 'node:fs/promises';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../proxy/integrity/verify.js';
import { AuditLog } from '../../proxy/portal/audit.js';
import { runCli } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { databaseOnlyConfig } from '../helpers/verify-config.js';

const legacyId = (n: number): ObjectId => new ObjectId(`64000000000000000000000${String(n)}`);

describe('retention-proxy audit seal (built CLI, real database)', () => {
  let t: TestDatabase;
  let config: { dir: string; configPath: string };
  const cli = (...args: string[]): ReturnType<typeof runCli> => runCli([...args, '--config', config.configPath], { timeoutMs: 120_000 });

  beforeAll(async () => {
    t = await testDatabase('sealcli');
    config = await databaseOnlyConfig(t.name);
    await t.db.collection('portal.audit').insertMany([1, 2, 3].map((n) => ({ _id: legacyId(n), at: new Date(Date.UTC(2025, 5, n)), user: 'old', role: 'auditor', action: 'record.view', target: `calls/${String(n)}`, ip: '::1', userAgent: 'old proxy', outcome: 'ok' })));
    const audit = new AuditLog(t.db);
    await audit.ensureIndexes();
    await audit.record({ user: 'alice', role: 'auditor', action: 'login.ok', target: 'users/alice', ip: '127.0.0.1', userAgent: 'test', outcome: 'ok' });
  });
  afterAll(async () => {
    await t?.drop();
    if (config) await rm(config.dir, { recursive: true, force: true });
  });

  it('seals the legacy entries once; verify is clean, then names the legacy entry edited after the seal', async () => {
    const sealed = await cli('audit', 'seal');
    expect([sealed.code, sealed.stdout.trim()]).toEqual([0, expect.stringMatching(/^sealed 3 legacy audit entries: seq 2, root [0-9a-f]{64}$/) as string]);
    const again = await cli('audit', 'seal', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ sealed: false, reason: 'already-sealed', seq: 2, details: { count: 3 } });

    const clean = await cli('verify', '--collection', 'portal.audit', '--json');
    const report = JSON.parse(clean.stdout) as VerifyReport;
    expect([clean.code, report.problems, report.counts.legacyAuditEntries, report.counts.sealedLegacyAuditEntries]).toEqual([0, [], 3, 3]);

    await t.db.collection('portal.audit').updateOne({ _id: legacyId(2) }, { $set: { user: 'someone-else' } });
    const tampered = await cli('verify', '--collection', 'portal.audit', '--json');
    const problems = (JSON.parse(tampered.stdout) as VerifyReport).problems.map((p) => `${p.kind} ${p.area} ${p.id}`);
    expect([tampered.code, problems]).toEqual([1, [`changed audit _id ${legacyId(2).toHexString()}`]]);
  });
});
