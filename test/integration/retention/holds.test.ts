import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIST_DEFS, RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { RetentionService } from '../../../proxy/retention/service.js';
import { RECORD_DATA_TYPES, type Hold } from '../../../proxy/retention/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';
import { generateRetentionData, type GeneratedData } from '../../helpers/retention-data.js';
import { heldBy } from './oracle.js';

describe('retention: legal holds', () => {
  let t: TestDatabase;
  let data: GeneratedData;
  let svc: RetentionService;
  beforeAll(async () => {
    t = await testDatabase('ret_holds');
    data = await generateRetentionData(t.db, 321, 1.5);
    svc = new RetentionService({ db: t.db, log: pino({ level: 'silent' }), writeConcernTimeoutMs: 10_000, nodeId: 'test', now: () => data.now });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('the export covers exactly what hangs off the hold (records per type, and the held files\' media)', async () => {
    const hold = await svc.createHold({ name: 'Matter A', reason: 'subpoena', scope: { contacts: ['c1'], enquiries: ['e3'] } }, 'admin');
    const isHeld = heldBy(data, [hold]);
    const parts = new Map<string, unknown[]>();
    const media: string[] = [];
    for await (const part of await svc.holdExportParts(hold._id)) {
      if ('rows' in part) {
        const rows: unknown[] = [];
        for await (const r of part.rows) rows.push(r);
        parts.set(part.path, rows);
      } else if ('media' in part) media.push(part.media.fileId);
    }
    for (const type of RECORD_DATA_TYPES) {
      const def = LIST_DEFS[type];
      const expected = (data.docs.get(def.collection) ?? []).filter((d) => isHeld(type, d)).map((d) => String(d[def.idField])).sort();
      const got = ((parts.get(`records/${type}.json`) ?? []) as { id: string }[]).map((r) => r.id).sort();
      expect(got, type).toEqual(expected);
    }
    const heldFiles = (data.docs.get(RECORD_COLLECTIONS.files) ?? []).filter((d) => isHeld('files', d)).map((d) => String(d.fileId)).sort();
    expect(heldFiles.length).toBeGreaterThan(0);
    expect(media.sort()).toEqual(heldFiles);
  });

  it('the record status names the holds and the winning policy; a release is recorded and makes data eligible', async () => {
    await svc.createPolicy({ id: 'calls-short', name: 'Calls short', dataType: 'calls', scope: { kind: 'all' }, activeDays: 1, archiveDays: 0 }, 'admin');
    await svc.createPolicy({ id: 'calls-long', name: 'Calls long', dataType: 'calls', scope: { kind: 'room', ids: ['r1'] }, activeDays: 5000, archiveDays: 0 }, 'admin');
    await svc.setPolicyMode('calls-short', 'enforce', 'Calls short', 'admin');
    await expect(svc.setPolicyMode('calls-long', 'enforce', 'calls long', 'admin')).rejects.toMatchObject({ code: 'CONFIRMATION_MISMATCH' });
    const holds: Hold[] = await svc.listHolds('active');
    const isHeld = heldBy(data, holds);
    const calls = data.docs.get(RECORD_COLLECTIONS.calls) ?? [];
    const held = calls.find((c) => isHeld('calls', c));
    const inR1 = calls.find((c) => c.roomId === 'r1');
    expect(held).toBeDefined();
    const heldId: unknown = held?._id;
    const s = await svc.recordStatus('calls', String(held?.callId));
    expect(s.holds.map((h) => h.name)).toEqual(['Matter A']);
    if (inR1) expect((await svc.recordStatus('calls', String(inR1.callId))).policy).toEqual({ id: 'calls-long', name: 'Calls long', mode: 'dry-run' });

    await svc.run({ trigger: 'manual', requestedBy: 'test' });
    expect(await t.db.collection(RECORD_COLLECTIONS.calls).findOne({ _id: heldId as never })).not.toBeNull();
    const released = await svc.releaseHold(holds[0]?._id ?? '', 'matter closed', 'admin');
    expect(released).toMatchObject({ releasedBy: 'admin', releaseReason: 'matter closed' });
    await expect(svc.releaseHold(released._id, 'again', 'admin')).rejects.toMatchObject({ code: 'HOLD_RELEASED' });
    // Not at once: only the next run acts.
    expect(await t.db.collection(RECORD_COLLECTIONS.calls).findOne({ _id: heldId as never })).not.toBeNull();
    await svc.run({ trigger: 'manual', requestedBy: 'test' });
    if (held?.roomId !== 'r1') expect(await t.db.collection(RECORD_COLLECTIONS.calls).findOne({ _id: heldId as never })).toBeNull();
  });
});
