import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { BulkWritePipeline } from '../../../proxy/importer/bulk-write-pipeline.js';
import { stampRecord } from '../../../proxy/importer/record-document.js';
import { useMonitoredClient } from '../../helpers/db.js';

const W = { w: 'majority' as const, wtimeout: 10_000 };
const JOB = { jobId: '3e9a1c5b-7d2f-4b6a-8c0e-1f3a5b7c9d2e', archive: 'backup_svc1001_3e9a1c5b-7d2f-4b6a-8c0e-1f3a5b7c9d2e_20261001030000.zip' };
const ENTRY = 'history/messages.json';

describe('BulkWritePipeline: a record repeated within one archive', () => {
  const m = useMonitoredClient('pipeline');

  it('ends as its last version: the batch holding the later copy waits for the batch still writing the earlier one', async () => {
    const db = m.freshDb('repeat');
    const events: { kind: 'started' | 'succeeded'; requestId: number; docs?: number }[] = [];
    const onStarted = (e: { commandName: string; requestId: number; command: Document }): void => {
      if (e.commandName === 'insert') events.push({ kind: 'started', requestId: e.requestId, docs: (e.command.documents as unknown[]).length });
    };
    const onSucceeded = (e: { commandName: string; requestId: number }): void => {
      if (e.commandName === 'insert') events.push({ kind: 'succeeded', requestId: e.requestId });
    };
    m.client.on('commandStarted', onStarted);
    m.client.on('commandSucceeded', onSucceeded);
    try {
      const first = [...Array.from({ length: 1500 }, (_, i) => ({ _id: `m-${i}`, text: 'x'.repeat(200) })), { _id: 'repeated', text: 'first version' }];
      const pipeline = new BulkWritePipeline(db, W, 2, () => undefined);
      await pipeline.submit(ENTRY, first.map((d) => stampRecord(d, JOB, ENTRY)));
      await pipeline.submit(ENTRY, [stampRecord({ _id: 'repeated', text: 'last version' }, JOB, ENTRY)]);
      await pipeline.drain();

      expect((await db.collection<{ _id: string; text: string }>(ENTRY).findOne({ _id: 'repeated' }))?.text).toBe('last version');
      const bigStart = events.find((e) => e.kind === 'started' && e.docs === first.length);
      const bigDone = events.findIndex((e) => e.kind === 'succeeded' && e.requestId === bigStart?.requestId);
      const smallStart = events.findIndex((e) => e.kind === 'started' && e.docs === 1);
      expect(bigDone).toBeGreaterThanOrEqual(0);
      expect(smallStart, JSON.stringify(events)).toBeGreaterThan(bigDone);
    } finally {
      m.client.off('commandStarted', onStarted);
      m.client.off('commandSucceeded', onSucceeded);
    }
  });

  it('batches with no _id in common still run side by side', async () => {
    const db = m.freshDb('apart');
    let inFlight = 0;
    let most = 0;
    const onStarted = (e: { commandName: string }): void => {
      if (e.commandName === 'insert') most = Math.max(most, ++inFlight);
    };
    const onDone = (e: { commandName: string }): void => {
      if (e.commandName === 'insert') inFlight--;
    };
    m.client.on('commandStarted', onStarted);
    m.client.on('commandSucceeded', onDone);
    m.client.on('commandFailed', onDone);
    try {
      const pipeline = new BulkWritePipeline(db, W, 2, () => undefined);
      for (let b = 0; b < 4; b++) await pipeline.submit(ENTRY, Array.from({ length: 800 }, (_, i) => stampRecord({ _id: `b${b}-${i}`, text: 'y'.repeat(200) }, JOB, ENTRY)));
      await pipeline.drain();
      expect(await db.collection(ENTRY).countDocuments()).toBe(3200);
      expect(most).toBe(2);
    } finally {
      m.client.off('commandStarted', onStarted);
      m.client.off('commandSucceeded', onDone);
      m.client.off('commandFailed', onDone);
    }
  });
});
