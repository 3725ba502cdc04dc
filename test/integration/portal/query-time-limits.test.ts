import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { PortalContext, portalSettings } from '../../../proxy/portal/context.js';
import { LIST_DEFS, RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { importSimulatorDay } from '../../helpers/portal-data.js';
import { ROOM_STATS_COLLECTION } from '../../../proxy/portal/room-stats.js';

const READS = new Set(['find', 'aggregate', 'count', 'getMore']);
const QUERY_MS = 4321;

/**
 * Findings 5 (issue 13): every read the portal sends for the Room report (counts, first/last dates, names), a room's
 * details (conference count) and a media description carries maxTimeMS = portal.queryTimeoutMs, so one expensive
 * request cannot hold the replica set.
 */
describe('portal reads carry maxTimeMS', () => {
  let t: TestDatabase;
  let client: MongoClient;
  const seen: CommandStartedEvent[] = [];

  beforeAll(async () => {
    t = await testDatabase('portal_time_limits');
    await importSimulatorDay(t.db, { records: 300 });
    client = new MongoClient(inject('mongoUri'), { monitorCommands: true, serverSelectionTimeoutMS: 10_000 });
    client.on('commandStarted', (e) => { if (READS.has(e.commandName)) seen.push(e); });
    await client.connect();
  });
  afterAll(async () => {
    await client.close();
    await t.drop();
  });

  const withoutLimit = (): string[] => seen.filter((e) => e.commandName !== 'getMore' && e.command.maxTimeMS !== QUERY_MS).map((e) => `${e.commandName} ${String(e.command[e.commandName])}`);

  it('the Room report, a room\'s details, the lists that resolve names, and media describe', async () => {
    const ctx = new PortalContext(client.db(t.name), pino({ level: 'silent' }), portalSettings({ sessionIdleMinutes: 30, sessionMaxHours: 12, loginMaxFailures: 5, loginMaxFailuresPerIp: 20, loginLockoutMinutes: 15, queryTimeoutMs: QUERY_MS }));
    seen.length = 0;
    const rooms = await ctx.lists.list(LIST_DEFS.rooms, { limit: 20 });
    expect(rooms.items.length).toBeGreaterThan(0);
    const room = rooms.items[0]!;
    expect(await ctx.details.detail(LIST_DEFS.rooms, room.id)).toBeDefined();
    for (const def of [LIST_DEFS.calls, LIST_DEFS.enquiries, LIST_DEFS.conferences, LIST_DEFS.voicemails, LIST_DEFS.recordings]) await ctx.lists.list(def, { limit: 20 });
    const file = await t.db.collection(RECORD_COLLECTIONS.files).findOne({ storagePath: { $type: 'string' } });
    expect(file).not.toBeNull();
    await ctx.media.describe(String(file!.fileId));
    // The Room report's own reads (its kept statistics, portal/room-stats.ts) were sent (so the check below covers them).
    expect(seen.some((e) => e.commandName === 'find' && e.command.find === ROOM_STATS_COLLECTION)).toBe(true);
    expect(seen.some((e) => e.command.find === 'media.files')).toBe(true);
    expect(withoutLimit()).toEqual([]);
  });
});
