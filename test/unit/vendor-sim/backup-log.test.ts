import { describe, expect, it } from 'vitest';
import { BackupLog } from '../../../proxy/vendor-sim/backup-log.js';
import { FaultState } from '../../../proxy/vendor-sim/sftp/faults.js';
import { virtualPath } from '../../../proxy/vendor-sim/sftp/sftp-server.js';
import type { StatusReport } from '../../../proxy/vendor-sim/types.js';

const FILE = 'backup_svc1001_0b9e0a52-5c1f-4e3a-9d7a-2f4f6c1d8e01_20260301020000.zip';
const JOB = '0b9e0a52-5c1f-4e3a-9d7a-2f4f6c1d8e01';

function report(over: Partial<StatusReport>): StatusReport {
  return {
    reportId: 'r1', serviceId: 'svc1001', siteId: 'site-a', jobId: JOB, fileName: FILE, status: 'downloading',
    bytes: 100, fileCount: 3, recordCounts: {}, sha256: '', at: '2026-03-01T03:00:00.000Z', ...over,
  };
}

function freshLog(): BackupLog {
  const log = new BackupLog();
  log.addArchive({ fileName: FILE, jobId: JOB, createdAt: new Date('2026-03-01T02:00:00Z'), totalBytes: 100, fileCount: 3 }, 'uploaded', new Date('2026-03-01T02:10:00Z'));
  return log;
}

describe('vendor-sim backup log', () => {
  it('shows "Backup uploaded" with no site before any report', () => {
    const rows = freshLog().rows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ siteId: null, status: 'uploaded', statusText: 'Backup uploaded', totalBytes: 100, fileCount: 3 });
  });

  it('applies a repeated reportId once but counts it in reports()', () => {
    const log = freshLog();
    expect(log.applyReport(report({}))).toBe(true);
    expect(log.applyReport(report({}))).toBe(false);
    expect(log.reports()).toHaveLength(2);
    expect(log.rows()[0]?.history.filter((h) => h.reportId === 'r1')).toHaveLength(1);
  });

  it('keeps "downloaded" over a later "downloading" and ignores an older report', () => {
    const log = freshLog();
    log.applyReport(report({ reportId: 'a', status: 'downloading', at: '2026-03-01T03:00:00Z' }));
    log.applyReport(report({ reportId: 'b', status: 'failed', at: '2026-03-01T03:05:00Z', error: { code: 'DOWNLOAD_CHECKSUM_MISMATCH', message: 'x' } }));
    expect(log.rows()[0]).toMatchObject({ status: 'failed', statusText: 'Failed: DOWNLOAD_CHECKSUM_MISMATCH', error: { code: 'DOWNLOAD_CHECKSUM_MISMATCH' } });
    log.applyReport(report({ reportId: 'c', status: 'downloading', at: '2026-03-01T03:01:00Z' }));
    expect(log.rows()[0]?.status).toBe('failed');
    log.applyReport(report({ reportId: 'd', status: 'downloaded', at: '2026-03-01T03:10:00Z', sha256: 'a'.repeat(64) }));
    log.applyReport(report({ reportId: 'e', status: 'downloading', at: '2026-03-01T03:20:00Z' }));
    const row = log.rows()[0];
    expect(row).toMatchObject({ siteId: 'site-a', status: 'downloaded', statusText: 'Data Downloaded' });
    expect(row?.error).toBeUndefined();
    expect(row?.history.map((h) => h.status)).toEqual(['uploaded', 'downloading', 'failed', 'downloading', 'downloaded', 'downloading']);
  });

  it('keeps one row per site and archive', () => {
    const log = freshLog();
    log.applyReport(report({ reportId: 'a', siteId: 'site-a', status: 'downloaded' }));
    log.applyReport(report({ reportId: 'b', siteId: 'site-b', status: 'downloading' }));
    expect(log.rows().map((r) => [r.siteId, r.status])).toEqual([['site-a', 'downloaded'], ['site-b', 'downloading']]);
  });
});

describe('vendor-sim SFTP path rules', () => {
  it('maps client paths under the root and refuses ".." and NUL', () => {
    expect(virtualPath('.')).toBe('/');
    expect(virtualPath('')).toBe('/');
    expect(virtualPath('a//b/./c.zip')).toBe('/a/b/c.zip');
    expect(() => virtualPath('../etc/passwd')).toThrow();
    expect(() => virtualPath('/a/../../b')).toThrow();
    expect(() => virtualPath('a\0b')).toThrow();
  });
});

describe('vendor-sim fault state', () => {
  it('fires drop and stall once per archive and re-arms them when set again', () => {
    const f = new FaultState({ dropAfterBytes: 10, stallAfterBytes: 20 });
    expect(f.dropLimit('/a.zip')).toBe(10);
    f.markDropped('/a.zip');
    expect(f.dropLimit('/a.zip')).toBeUndefined();
    expect(f.dropLimit('/b.zip')).toBe(10);
    f.markStalled('/a.zip');
    expect(f.stallLimit('/a.zip')).toBeUndefined();
    f.set({ dropAfterBytes: 10 });
    expect(f.dropLimit('/a.zip')).toBe(10);
    expect(f.stallLimit('/a.zip')).toBeUndefined();
  });

  it('consumes stillUploading once and spaces throttled bytes by the rate', () => {
    const f = new FaultState({ stillUploading: true, bytesPerSecond: 1000 });
    expect(f.takeStillUploading()).toBe(true);
    expect(f.takeStillUploading()).toBe(false);
    expect(f.reserve(500, 0)).toBe(500);
    expect(f.reserve(500, 0)).toBe(1000);
  });
});
