import { ProxyError } from '../errors.js';

export interface ArchiveName {
  readonly fileName: string;
  readonly serviceId: string;
  /** 36-character UUID assigned by the vendor to the retention job. */
  readonly jobId: string;
  /** Backup start time, UTC. */
  readonly createdAt: Date;
}

const PATTERN =
  /^backup_([A-Za-z0-9-]{1,64})_([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.zip$/;

/** Parses `backup_{serviceId}_{jobId}_{yyyymmddhhmmss}.zip`; returns undefined for any other name. */
export function parseArchiveName(fileName: string): ArchiveName | undefined {
  const m = PATTERN.exec(fileName);
  if (!m) return undefined;
  const [, serviceId, jobId, y, mo, d, h, mi, s] = m as unknown as [string, string, string, string, string, string, string, string, string];
  const createdAt = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s));
  // Reject impossible dates (e.g. month 13) that Date.UTC would silently roll over.
  if (
    createdAt.getUTCFullYear() !== +y || createdAt.getUTCMonth() !== +mo - 1 || createdAt.getUTCDate() !== +d ||
    createdAt.getUTCHours() !== +h || createdAt.getUTCMinutes() !== +mi || createdAt.getUTCSeconds() !== +s
  ) {
    return undefined;
  }
  return Object.freeze({ fileName, serviceId, jobId: jobId.toLowerCase(), createdAt });
}

export function requireArchiveName(fileName: string): ArchiveName {
  const parsed = parseArchiveName(fileName);
  if (!parsed) throw new ProxyError('ARCHIVE_NAME_INVALID', fileName);
  return parsed;
}

export function formatArchiveName(serviceId: string, jobId: string, createdAt: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const ts = `${p(createdAt.getUTCFullYear(), 4)}${p(createdAt.getUTCMonth() + 1)}${p(createdAt.getUTCDate())}${p(createdAt.getUTCHours())}${p(createdAt.getUTCMinutes())}${p(createdAt.getUTCSeconds())}`;
  return `backup_${serviceId}_${jobId}_${ts}.zip`;
}
