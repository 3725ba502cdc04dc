import { describe, expect, it } from 'vitest';
import { stampCallTimes, CALL_AT_FIELD } from '../../../proxy/importer/call-times.js';
import { refreshArchiveIdentity, SUPERSEDED_FIELD } from '../../../proxy/importer/identity.js';
import { setPointQueriesForTests } from '../../../proxy/importer/point-queries.js';
import { useMonitoredClient } from '../../helpers/db.js';

const W = { w: 'majority' as const, wtimeout: 10_000 };
const ARCHIVE = 'backup_svc1_job_20261001030000.zip';
const KEYS = 250;

/** Look-ups by business id or callId: 100 keys a query on MongoDB (index reads); on FerretDB, where any such query
 *  reads the whole collection, one query for a day's keys. Same outcome either way. */
describe('identity and call-time look-ups: batch size by server kind', () => {
  const m = useMonitoredClient('lookup_batches');

  for (const pointOnly of [false, true]) {
    it(`${pointOnly ? 'FerretDB mode: one roomId query for 250 rooms, marks by _id' : 'MongoDB mode: 100 rooms a query, marks by _id $in'}, and every older version marked superseded`, async () => {
      setPointQueriesForTests(m.client, pointOnly);
      const db = m.freshDb(pointOnly ? 'point' : 'mongo');
      const rooms = db.collection<{ _id: string; roomId: string }>('history.rooms');
      const older = new Date(Date.UTC(2026, 8, 30));
      const newer = new Date(Date.UTC(2026, 9, 1));
      await rooms.insertMany(Array.from({ length: KEYS }, (_, i) => ({ _id: `old-${i}`, roomId: `r-${i}`, _retention: { createdAt: older, archive: 'backup_svc1_job_20260930030000.zip' } })));
      await rooms.insertMany(Array.from({ length: KEYS }, (_, i) => ({ _id: `new-${i}`, roomId: `r-${i}`, _retention: { createdAt: newer, archive: ARCHIVE } })));
      m.commands.length = 0;
      await refreshArchiveIdentity(db, 'history.rooms', ARCHIVE, W);
      const lookups = m.commands.filter((c) => c.commandName === 'find' && c.command.find === 'history.rooms' && (c.command.filter as { roomId?: unknown } | undefined)?.roomId !== undefined);
      expect(lookups.length).toBe(pointOnly ? 1 : Math.ceil(KEYS / 100));
      // The marks: on FerretDB one `{_id}` update per version (50 a command), never an `_id: {$in}` scan.
      const updates = m.commands.filter((c) => c.commandName === 'update' && c.command.update === 'history.rooms').flatMap((c) => c.command.updates as { q: { _id?: unknown } }[]);
      const byIn = updates.filter((u) => typeof u.q._id === 'object' && u.q._id !== null && '$in' in u.q._id);
      expect(pointOnly ? byIn.length : updates.length - byIn.length).toBe(0);
      if (pointOnly) expect(updates.length).toBe(KEYS);
      expect(await rooms.countDocuments({ [SUPERSEDED_FIELD]: true })).toBe(KEYS);
      expect(await rooms.countDocuments({ _id: { $regex: /^new-/ }, [SUPERSEDED_FIELD]: { $exists: false } })).toBe(KEYS);
    });

    it(`${pointOnly ? 'FerretDB mode: one callId query for 250 voicemails' : 'MongoDB mode: 100 voicemails a query'}, each stamped with its call's start`, async () => {
      setPointQueriesForTests(m.client, pointOnly);
      const db = m.freshDb(pointOnly ? 'cpoint' : 'cmongo');
      const start = (i: number): Date => new Date(Date.UTC(2026, 9, 1, 0, i));
      await db.collection<{ _id: string }>('history.calls').insertMany(Array.from({ length: KEYS }, (_, i) => ({ _id: `c-${i}`, callId: `call-${i}`, startedAt: start(i) })));
      await db.collection<{ _id: string }>('file-management.files').insertMany(Array.from({ length: KEYS }, (_, i) => ({ _id: `f-${i}`, category: 'voicemail', callId: `call-${i}`, uploadedAt: new Date(Date.UTC(2026, 9, 2)) })));
      m.commands.length = 0;
      expect(await stampCallTimes(db, {}, W)).toBe(KEYS);
      const lookups = m.commands.filter((c) => c.commandName === 'find' && c.command.find === 'history.calls');
      expect(lookups.length).toBe(pointOnly ? 1 : Math.ceil(KEYS / 100));
      const files = await db.collection('file-management.files').find({}, { projection: { [CALL_AT_FIELD]: 1 } }).toArray();
      expect(files.length).toBe(KEYS);
      for (const f of files) expect((f._retention as { callAt?: Date }).callAt, String(f._id)).toEqual(start(Number(String(f._id).slice(2))));
    });
  }
});
