import { describe, expect, it } from 'vitest';
import { formatArchiveName, parseArchiveName, requireArchiveName } from '../../../proxy/archive/archive-name.js';

const JOB = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('archive names', () => {
  it('parses backup_{serviceId}_{jobId}_{yyyymmddhhmmss}.zip as UTC', () => {
    const n = parseArchiveName(`backup_svc42_${JOB}_20260131235959.zip`);
    expect(n).toMatchObject({ serviceId: 'svc42', jobId: JOB });
    expect(n?.createdAt.toISOString()).toBe('2026-01-31T23:59:59.000Z');
  });
  it('round-trips with formatArchiveName', () => {
    const at = new Date(Date.UTC(2026, 10, 22, 3, 4, 5));
    expect(parseArchiveName(formatArchiveName('svc', JOB, at))?.createdAt).toEqual(at);
  });
  it('rejects other names, short job IDs and impossible dates', () => {
    for (const bad of [
      'backup_svc_123_20260101000000.zip',
      `backup_svc_${JOB}_20261301000000.zip`,
      `backup_svc_${JOB}_20260230000000.zip`,
      `backup_svc_${JOB}_20260101000000.zip.part`,
      `Backup_svc_${JOB}_20260101000000.zip`,
      'notes.txt',
    ]) {
      expect(parseArchiveName(bad), bad).toBeUndefined();
    }
    expect(() => requireArchiveName('x.zip')).toThrow(expect.objectContaining({ code: 'ARCHIVE_NAME_INVALID' }) as Error);
  });
});
