import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ProxyError } from '../errors.js';
import type { BackupLog } from './backup-log.js';
import type { FaultState } from './sftp/faults.js';
import type { StatusReport } from './types.js';

export interface RetainedDataOptions {
  readonly dataDir: string;
  readonly backupLog: BackupLog;
  readonly faults: FaultState;
  readonly log: Logger;
  readonly autoDelete: boolean;
  readonly backupSites?: readonly string[] | undefined;
  /** How long "Deleting data..." shows before the outcome (default 200 ms). */
  readonly deleteDelayMs?: number;
}

export type DeleteOutcome = 'deleted' | 'delete-failed';

/**
 * The vendor deleting retained data (the Data Retention guide's Backup Log): with Auto-Delete on, once every backup
 * site has reported "Data Downloaded"; otherwise when "Delete from CINNOX" (or "Try again") is used. Shows
 * "Deleting data...", then "Retained data deleted" with the archive (and its .sha256) gone from the SFTP server, or
 * "Failed to delete data" (fault switch `failDelete`) with the archive still there.
 */
export class RetainedData {
  autoDelete: boolean;
  private readonly running = new Map<string, Promise<DeleteOutcome>>();

  constructor(private readonly o: RetainedDataOptions) {
    this.autoDelete = o.autoDelete;
  }

  /** After a report was applied: starts the automatic deletion when it is due. */
  onReport(report: StatusReport): void {
    if (!this.autoDelete || report.status !== 'downloaded') return;
    const state = this.o.backupLog.deletionOf(report.fileName);
    if (state === 'deleting' || state === 'deleted' || state === 'delete-failed') return; // a failure waits for "Try again"
    if (!this.o.backupLog.allSitesDownloaded(report.fileName, this.o.backupSites)) return;
    this.o.log.info({ fileName: report.fileName }, 'every backup site has the data: auto-deleting retained data');
    void this.delete(report.fileName);
  }

  /** "Delete from CINNOX" / "Try again". NOT_FOUND for an archive the Backup Log does not know. */
  delete(fileName: string): Promise<DeleteOutcome> {
    if (!this.o.backupLog.has(fileName)) return Promise.reject(new ProxyError('NOT_FOUND', fileName));
    const running = this.running.get(fileName);
    if (running) return running;
    if (this.o.backupLog.deletionOf(fileName) === 'deleted') return Promise.resolve('deleted');
    this.o.backupLog.setDeletion(fileName, 'deleting');
    const p = this.run(fileName).finally(() => this.running.delete(fileName));
    this.running.set(fileName, p);
    return p;
  }

  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private async run(fileName: string): Promise<DeleteOutcome> {
    await new Promise((r) => setTimeout(r, this.o.deleteDelayMs ?? 200));
    if (this.o.faults.current.failDelete) {
      this.o.backupLog.setDeletion(fileName, 'delete-failed', { code: 'DELETE_FAILED', message: 'An error occurred while trying to remove the data (fault switch failDelete)' });
      this.o.log.warn({ fileName }, 'deleting retained data failed (fault)');
      return 'delete-failed';
    }
    try {
      await rm(join(this.o.dataDir, fileName), { force: true });
      await rm(join(this.o.dataDir, `${fileName}.sha256`), { force: true });
    } catch (err) {
      this.o.backupLog.setDeletion(fileName, 'delete-failed', { code: 'DELETE_FAILED', message: (err as Error).message });
      return 'delete-failed';
    }
    this.o.backupLog.setDeletion(fileName, 'deleted');
    this.o.log.info({ fileName }, 'retained data deleted');
    return 'deleted';
  }
}
