import { parseArchiveName } from '../archive/archive-name.js';
import type { BackupLogHistoryItem, BackupLogRow, BackupStatus, DeletionStatus, StatusReport } from './types.js';

export const STATUS_TEXT: Record<BackupStatus, string> = {
  uploading: 'Uploading backup...',
  uploaded: 'Backup uploaded',
  downloading: 'Downloading...',
  downloaded: 'Data Downloaded',
  failed: 'Failed',
  deleting: 'Deleting data...',
  deleted: 'Retained data deleted',
  'delete-failed': 'Failed to delete data',
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
  /** The vendor deleting the retained data: shown on every row of the archive once it started. */
  deletion?: SiteState;
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

  /** Records a step of the vendor's deletion of an archive's retained data. */
  setDeletion(fileName: string, status: DeletionStatus, error?: { code: string; message: string }, now = new Date()): void {
    const a = this.archives.get(fileName);
    if (!a) return;
    const at = now.toISOString();
    const item: BackupLogHistoryItem = { at, status, ...(error && { error }) };
    a.deletion = { status, at, ...(error && { error }), history: [...(a.deletion?.history ?? []), item] };
  }

  deletionOf(fileName: string): DeletionStatus | undefined {
    return this.archives.get(fileName)?.deletion?.status as DeletionStatus | undefined;
  }

  /**
   * True when every backup site has reported "Data Downloaded" for the archive: the sites given (the vendor's
   * configured list), or else every site that has reported about it (at least one).
   */
  allSitesDownloaded(fileName: string, sites?: readonly string[]): boolean {
    const a = this.archives.get(fileName);
    if (!a) return false;
    const required = sites && sites.length > 0 ? sites : [...a.sites.keys()];
    return required.length > 0 && required.every((site) => a.sites.get(site)?.status === 'downloaded');
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
        const site = (siteId === null ? undefined : a.sites.get(siteId)) ?? a.vendor;
        const s = a.deletion ?? site;
        const history = [...a.vendor.history, ...(site === a.vendor ? [] : site.history), ...(a.deletion?.history ?? [])];
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
