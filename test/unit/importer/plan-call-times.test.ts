import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ArchiveCallTimes } from '../../../proxy/importer/plan-call-times.js';

const FILES = 'file-management.files';
const d = (h: number): Date => new Date(Date.UTC(2024, 4, 1, h));
const voicemail = (callId: string): Document => ({ _id: `f-${callId}`, category: 'voicemail', callId, uploadedAt: d(20), _retention: {} });
const callAtOf = (doc: Document): unknown => (doc._retention as { callAt?: unknown }).callAt;

describe('ArchiveCallTimes: bounded memory', () => {
  it('past its limit remembers no new call (its file is left to stampCallTimes) but still takes later versions of known ones', async () => {
    const times = new ArchiveCallTimes(2);
    times.observe('history.calls', { _id: 'c1', callId: 'call-1', startedAt: d(1) });
    times.observe('history.conference-calls', { _id: 'k1', conferenceId: 'conf-1', startedAt: d(2) });
    times.observe('history.calls', { _id: 'c3', callId: 'call-3', startedAt: d(3) });
    times.observe('history.calls', { _id: 'c1', callId: 'call-1', startedAt: d(4) });
    const files = [voicemail('call-1'), voicemail('call-3')];
    await times.stamp(FILES, files);
    expect(files.map(callAtOf)).toEqual([d(4), undefined]);
  });
});
