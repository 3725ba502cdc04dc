import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortalContext } from '../../../proxy/portal/context.js';
import { startsPlayback } from '../../../proxy/portal/playback.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

/**
 * Finding 18 (issue 13): every seek (a Range from past byte 0) looks up this session's playback entry in the audit
 * log; without an index on (details.session, target, action) that scans the user's whole audit history.
 */
describe('playback audit look-up index', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('portal_playback_idx');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('the portal creates an index on portal.audit for (details.session, target, action), and the look-up still answers', async () => {
    const ctx = new PortalContext(t.db, pino({ level: 'silent' }));
    await ctx.ensureIndexes();
    const indexes = (await t.db.collection('portal.audit').listIndexes().toArray()) as { key: Record<string, number> }[];
    const idx = indexes.find((i) => JSON.stringify(i.key) === JSON.stringify({ 'details.session': 1, target: 1, action: 1 }));
    expect(idx, JSON.stringify(indexes.map((i) => i.key))).toBeDefined();
    // (sparse: FerretDB 1.24 does not report the option back; MongoDB does.)
    await ctx.ensureIndexes(); // idempotent
    const who = { user: 'alice', session: 'abc123' };
    expect(await startsPlayback(ctx.audit, { start: 10, end: 20 }, who, 'media.play', 'media/f1')).toBe(true);
    await ctx.audit.record({ user: 'alice', role: 'auditor', action: 'media.play', target: 'media/f1', ip: '127.0.0.1', userAgent: 't', outcome: 'ok', details: { session: 'abc123' } });
    expect(await startsPlayback(ctx.audit, { start: 10, end: 20 }, who, 'media.play', 'media/f1')).toBe(false);
  });
});
