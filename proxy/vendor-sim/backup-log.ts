import { parseArchiveName } from '../archive/archive-name.js';
import type { BackupLogHistoryItem, BackupLogRow, BackupStatus, StatusReport } from './types.js';

export const STATUS_TEXT: Record<BackupStatus, string> = {
  uploading: 'Uploading backup...',
  uploaded: 'Backup uploaded',
  downloading: 'Downloading...',
  downloaded: 'Data Downloaded',
  failed: 'Failed',
};

interface SiteState {
  status: BackupStatus;
  at: string;
  error?: { code: string; message: string };
  history: BackupLogHistoryItem[];
}

interface ArchiveState {
  readonly fileName: string;
  readonly jobId: string;
  readonly createdAt: string;
  totalBytes: number;
  fileCount: number;
  vendor: SiteState;
  readonly sites: Map<string, SiteState>;
}

export interface ArchiveInfo {
  readonly fileName: string;
  readonly jobId: string;
  readonly createdAt: Date;
  readonly totalBytes: number;
  readonly fileCount: number;
}

/**
 * The vendor's Backup Log: one row per site x archive. Reports are idempotent by `reportId`; a site's status is
 * the latest meaningful one: "downloaded" is final, an older report (by `at`) never overrides a newer one, and
 * "failed" keeps its reason.
 */
export class BackupLog {
  private readonly archives = new Map<string, ArchiveState>();
  private readonly siteOrder: string[] = [];
  private readonly seenReports = new Set<string>();
  private readonly received: StatusReport[] = [];

  addArchive(info: ArchiveInfo, status: 'uploading' | 'uploaded', now = new Date()): void {
    const at = now.toISOString();
    this.archives.set(info.fileName, {
      fileName: info.fileName, jobId: info.jobId, createdAt: info.createdAt.toISOString(),
      totalBytes: info.totalBytes, fileCount: info.fileCount,
      vendor: { status, at, history: [{ at, status }] }, sites: new Map(),
    });
  }

  markUploaded(fileName: string, now = new Date()): void {
    const a = this.archives.get(fileName);
    if (!a || a.vendor.status === 'uploaded') return;
    const at = now.toISOString();
    a.vendor = { status: 'uploaded', at, history: [...a.vendor.history, { at, status: 'uploaded' }] };
  }

  has(fileName: string): boolean {
    return this.archives.has(fileName);
  }

  /** Records a report; returns false for a repeat of an already seen `reportId` (counted, not applied). */
  applyReport(report: StatusReport): boolean {
    this.received.push(report);
    if (this.seenReports.has(report.reportId)) return false;
    this.seenReports.add(report.reportId);
    if (!this.siteOrder.includes(report.siteId)) this.siteOrder.push(report.siteId);
    let archive = this.archives.get(report.fileName);
    if (!archive) {
      const parsed = parseArchiveName(report.fileName);
      const createdAt = (parsed?.createdAt ?? new Date(report.at)).toISOString();
      archive = {
        fileName: report.fileName, jobId: report.jobId, createdAt, totalBytes: report.bytes, fileCount: report.fileCount,
        vendor: { status: 'uploaded', at: createdAt, history: [] }, sites: new Map(),
      };
      this.archives.set(report.fileName, archive);
    }
    const site = archive.sites.get(report.siteId) ?? { ...archive.vendor, history: [] };
    const item: BackupLogHistoryItem = {
      at: report.at, status: report.status, reportId: report.reportId, ...(report.error && { error: report.error }),
    };
    site.history.push(item);
    const final = site.status === 'downloaded';
    const older = Date.parse(report.at) < Date.parse(site.at) && site.status !== archive.vendor.status;
    if (!final && !older) {
      site.status = report.status;
      site.at = report.at;
      if (report.status === 'failed' && report.error) site.error = report.error;
      else delete site.error;
    }
    archive.sites.set(report.siteId, site);
    return true;
  }

  /** Newest archive first; per archive one row per known site (or one row with siteId null before any report). */
  rows(): BackupLogRow[] {
    const archives = [...this.archives.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.fileName.localeCompare(b.fileName));
    const sites: (string | null)[] = this.siteOrder.length > 0 ? this.siteOrder : [null];
    const rows: BackupLogRow[] = [];
    for (const a of archives) {
      for (const siteId of sites) {
        const s = (siteId === null ? undefined : a.sites.get(siteId)) ?? a.vendor;
        const history = s === a.vendor ? a.vendor.history : [...a.vendor.history, ...s.history];
        rows.push({
          siteId, createdAt: a.createdAt, fileName: a.fileName, jobId: a.jobId, totalBytes: a.totalBytes, fileCount: a.fileCount,
          status: s.status,
          statusText: s.status === 'failed' && s.error ? `${STATUS_TEXT.failed}: ${s.error.code}` : STATUS_TEXT[s.status],
          ...(s.error && { error: s.error }),
          history: history.map((h) => ({ ...h })),
        });
      }
    }
    return rows;
  }

  reports(): StatusReport[] {
    return this.received.map((r) => structuredClone(r));
  }
}
