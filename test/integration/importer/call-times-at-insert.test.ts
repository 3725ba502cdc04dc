import { type CommandStartedEvent, type Document } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stampCallTimes } from '../../../proxy/importer/call-times.js';
import { majority } from '../../../proxy/db/write-concern.js';
import { applyImport, planImport } from '../../../proxy/importer/index.js';
import { tombstoneId } from '../../../proxy/retention/tombstones.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { ARCHIVE, JOB_ID, extractedDir } from './extracted-dir.js';

const log = pino({ level: 'silent' });
const FILES = 'file-management.files';
const at = (h: number): string => `{"$date":"2024-05-01T${String(h).padStart(2, '0')}:00:00.000Z"}`;
const date = (h: number): Date => new Date(`2024-05-01T${String(h).padStart(2, '0')}:00:00.000Z`);
const file = (id: string, category: string, extra: string, uploadedHour: number): string =>
  `{"_id":"${id}","fileId":"${id}","category":"${category}"${extra},"uploadedAt":${at(uploadedHour)}}`;

/**
 * Voicemails and recordings whose call or conference is in the same archive get `_retention.callAt` in the insert that
 * writes them (the plan gathered the start times: proxy/importer/plan-call-times.ts), the same value stampCallTimes
 * gives afterwards; the rest are still stamped after the records are written.
 */
describe('call times stamped at insert', () => {
  let t: TestDatabase;
  const updates: CommandStartedEvent[] = [];
  beforeAll(async () => {
    t = await testDatabase('calltimes', {
      onCommand: (e) => {
        if (e.commandName === 'update' && e.command.update === FILES) updates.push(e);
      },
    });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('stamps in-archive calls, conferences and call-less files at insert, the rest afterwards, with the values stampCallTimes gives', async () => {
    const db = t.db;
    // A call delivered by an earlier archive: only the database knows its start.
    await db.collection('history.calls').insertOne({ callId: 'call-old', startedAt: date(1) });
    const x = await extractedDir({
      'history/calls.json': `{"_id":"c1","callId":"call-1","startedAt":${at(5)}}\n{"_id":"c2","callId":"call-2","startedAt":${at(6)}}\n`,
      'history/conference-calls.json': `{"_id":"k1","conferenceId":"conf-1","startedAt":${at(7)}}\n`,
      'file-management/files.json': [
        file('f1', 'voicemail', ',"callId":"call-1"', 20),
        file('f2', 'call-recording', ',"callId":"call-2","conferenceId":"conf-1"', 21),
        file('f3', 'conference-recording', ',"conferenceId":"conf-1"', 22),
        file('f4', 'voicemail', ',"callId":"call-old"', 23),
        file('f5', 'voicemail', ',"callId":"call-nowhere"', 19),
        file('f6', 'voicemail', '', 18),
        file('f7', 'room-file', ',"callId":"call-1"', 17),
      ].join('\n'),
    });
    try {
      const plan = await planImport(x.dir, x.entries, log);
      updates.length = 0;
      await applyImport(db, x.dir, plan, { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log });
      const stamped = async (): Promise<Record<string, Date | undefined>> => {
        const docs = await db.collection<Document>(FILES).find({}).sort({ _id: 1 }).toArray();
        return Object.fromEntries(docs.map((d) => [String(d._id), (d._retention as { callAt?: Date }).callAt]));
      };
      const expected = { f1: date(5), f2: date(6), f3: date(7), f4: date(1), f5: date(19), f6: date(18), f7: undefined };
      expect(await stamped()).toEqual(expected);
      // Only the two files whose call is not in the archive were updated afterwards (one bulk update command).
      const ids = updates.flatMap((e) => (e.command.updates as { q: { _id: unknown } }[]).map((u) => u.q._id));
      expect(ids.sort()).toEqual(['f4', 'f5']);

      // The same values as stampCallTimes gives every file from the stored calls.
      await db.collection(FILES).updateMany({}, { $unset: { '_retention.callAt': '' } });
      expect(await stampCallTimes(db, {}, majority(10_000))).toBe(6);
      expect(await stamped()).toEqual(expected);
    } finally {
      await x.remove();
    }
  });

  it('a call or conference destroyed by retention (not imported again) gives its start to no file: stampCallTimes decides, from what is stored', async () => {
    const db = t.client.db(`${t.name}_tomb`);
    try {
      await db.collection<{ _id: string; collection: string; recordId: string; kind: string }>('retention.tombstones').insertMany([
        { _id: tombstoneId('history.calls', 'c1'), collection: 'history.calls', recordId: 'c1', kind: 'record' },
        { _id: tombstoneId('history.conference-calls', 'k1'), collection: 'history.conference-calls', recordId: 'k1', kind: 'record' },
      ]);
      const x = await extractedDir({
        'history/calls.json': `{"_id":"c1","callId":"call-1","startedAt":${at(5)}}\n{"_id":"c2","callId":"call-2","startedAt":${at(6)}}\n`,
        'history/conference-calls.json': `{"_id":"k1","conferenceId":"conf-1","startedAt":${at(7)}}\n`,
        'file-management/files.json': [
          file('f1', 'voicemail', ',"callId":"call-1"', 20),
          file('f2', 'call-recording', ',"callId":"call-2"', 21),
          file('f3', 'conference-recording', ',"conferenceId":"conf-1"', 22),
        ].join('\n'),
      });
      try {
        await applyImport(db, x.dir, await planImport(x.dir, x.entries, log), { jobId: JOB_ID, archive: ARCHIVE }, { wtimeoutMs: 10_000, log });
      } finally {
        await x.remove();
      }
      expect(await db.collection('history.calls').distinct('_id')).toEqual(['c2']);
      expect(await db.collection('history.conference-calls').countDocuments({})).toBe(0);
      const docs = await db.collection<Document>(FILES).find({}).sort({ _id: 1 }).toArray();
      // f1 and f3: their call and conference are not stored, so their own uploadedAt (stampCallTimes' rule).
      expect(Object.fromEntries(docs.map((d) => [String(d._id), (d._retention as { callAt?: Date }).callAt]))).toEqual({ f1: date(20), f2: date(6), f3: date(22) });
    } finally {
      await db.dropDatabase();
    }
  });
});
