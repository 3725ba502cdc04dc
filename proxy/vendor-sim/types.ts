import type { Logger } from 'pino';
import type { PushTarget } from './push/sftp-push.js';

export type { PushTarget } from './push/sftp-push.js';

export interface SftpFaults {
  /** Close the connection after serving N bytes of one archive's data (once per archive, then heal). 0 = off. */
  dropAfterBytes: number;
  /** Stop answering reads after N bytes of one archive (connection stays open) (once per archive, then heal). 0 = off. */
  stallAfterBytes: number;
  /** Throttle file data to this many bytes per second (whole server). 0 = off. */
  bytesPerSecond: number;
  /** Serve every archive with the byte at this offset XOR 0xff (a corrupted transfer) until cleared. -1 = off. */
  flipByteAt: number;
  /** Answer each READ with fewer bytes than asked (legal in SFTP). */
  shortReads: boolean;
  /** Publish the next archive slowly: the file grows in place over several seconds (then heal). */
  stillUploading: boolean;
  /** Deleting retained data fails ("Failed to delete data", the archive stays) until cleared; then "Try again". */
  failDelete: boolean;
}

export const NO_FAULTS: Readonly<SftpFaults> = Object.freeze({
  dropAfterBytes: 0, stallAfterBytes: 0, bytesPerSecond: 0, flipByteAt: -1, shortReads: false, stillUploading: false, failDelete: false,
});

export type ReportStatus = 'downloading' | 'downloaded' | 'failed';

export interface StatusReport {
  reportId: string; serviceId: string; siteId: string; jobId: string; fileName: string;
  status: ReportStatus; bytes: number; fileCount: number; recordCounts: Record<string, number>;
  sha256: string; error?: { code: string; message: string }; at: string;
}

/** The vendor deleting an archive's retained data (Auto-Delete, or "Delete from CINNOX"). */
export type DeletionStatus = 'deleting' | 'deleted' | 'delete-failed';

/**
 * The vendor's view of one archive at one backup site. `uploading`/`uploaded` and the deletion states are the
 * vendor's own; the others come from the site's reports.
 */
export type BackupStatus = 'uploading' | 'uploaded' | ReportStatus | DeletionStatus;

export interface BackupLogHistoryItem {
  readonly at: string;
  readonly status: BackupStatus;
  readonly reportId?: string;
  readonly error?: { code: string; message: string };
}

export interface BackupLogRow {
  /** The reporting site; null while no site has reported anything. */
  readonly siteId: string | null;
  readonly createdAt: string;
  readonly fileName: string;
  readonly jobId: string;
  readonly totalBytes: number;
  readonly fileCount: number;
  readonly status: BackupStatus;
  /** What the vendor's Backup Log shows, e.g. "Data Downloaded" or "Failed: DOWNLOAD_CHECKSUM_MISMATCH ...". */
  readonly statusText: string;
  readonly error?: { code: string; message: string };
  readonly history: readonly BackupLogHistoryItem[];
}

export interface PublishDayOptions {
  /** Backup start time (default: now, whole seconds). */
  date?: Date;
  /** Approximate total records (default 1000). */
  records?: number;
  /** Approximate media bytes (default 1 MiB). */
  mediaBytes?: number;
  layout?: 'lines' | 'array';
  manifest?: boolean;
}

export interface PublishDayResult {
  fileName: string; bytes: number; sha256: string; recordCounts: Record<string, number>; fileCount: number;
}

export interface VendorSimOptions {
  /** Where archives live (the SFTP root). */
  dataDir: string;
  serviceId: string;
  archiveKey: string;
  encryption: 'aes-256' | 'zipcrypto';
  /** Shared with the proxy (HMAC of reports). */
  signingSecret: string;
  sftp: { port: number; host?: string; username: string; authorizedPublicKey: string; hostKey?: string };
  http: { port: number; host?: string };
  faults?: Partial<SftpFaults>;
  log: Logger;
  /** Awaited BEFORE answering the POST (tests check DB state here). */
  onReport?: (report: StatusReport) => Promise<void> | void;
  /** Seed of the generated data (default: serviceId). */
  seed?: string;
  /** Write `<name>.sha256` sidecars (default true). */
  sidecar?: boolean;
  /**
   * Auto-Delete Retained Data (default false): once every backup site has reported "Data Downloaded" for an archive,
   * the vendor deletes it ("Deleting data...", then "Retained data deleted" or "Failed to delete data"), and the
   * archive leaves the SFTP server. Off: the Backup Log offers "Delete from CINNOX" for each archive.
   */
  autoDelete?: boolean;
  /** The configured backup sites (siteIds). Default: every site that has reported about the archive. */
  backupSites?: readonly string[];
  /**
   * Push mode: the customer runs the SFTP server (the proxy VM's upload inbox). Each published archive is also uploaded
   * into it with the vendor's key (`.uploading`, rename, `.sha256`); publishDay rejects when that fails.
   */
  push?: PushTarget;
}

export interface VendorSim {
  readonly sftpPort: number;
  readonly httpPort: number;
  /** 'SHA256:...' as OpenSSH prints it. */
  readonly hostKeyFingerprint: string;
  /** http://127.0.0.1:<port>/retention/v1/status */
  readonly statusUrl: string;
  publishDay(opts?: PublishDayOptions): Promise<PublishDayResult>;
  backupLog(): BackupLogRow[];
  reports(): StatusReport[];
  setFaults(f: Partial<SftpFaults>): void;
  /** Switches Auto-Delete Retained Data (applies to archives downloaded from now on). */
  setAutoDelete(on: boolean): void;
  /**
   * "Delete from CINNOX" (or "Try again" after a failure): deletes the archive's retained data, i.e. removes it from
   * the SFTP server. Resolves with the outcome once the deletion has settled.
   */
  deleteArchive(fileName: string): Promise<'deleted' | 'delete-failed'>;
  /** Resolves when no deletion is under way (Auto-Delete runs in the background). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface VendorSimCliArgs {
  dataDir: string; serviceId: string; archiveKey: string; signingSecret: string;
  sftpPort: number; httpPort: number; authorizedKeyFile: string; encryption: 'aes-256' | 'zipcrypto'; days: number;
  records: number; mediaBytes: number; faults: Partial<SftpFaults>;
  autoDelete?: boolean; backupSites?: string[];
  /** Push mode (see VendorSimOptions.push), with the vendor's private key read from a file. */
  push?: Omit<PushTarget, 'privateKey'> & { privateKeyFile: string };
}
