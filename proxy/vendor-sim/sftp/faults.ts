import { NO_FAULTS, type SftpFaults } from '../types.js';

/**
 * The simulator's current SFTP faults. Drop and stall fire once per archive and then heal; setting them again
 * re-arms them. Shared by reference between the simulator and its SFTP server.
 */
export class FaultState {
  private faults: SftpFaults;
  private readonly dropped = new Set<string>();
  private readonly stalled = new Set<string>();
  private throttleFreeAt = 0;

  constructor(initial: Partial<SftpFaults> = {}) {
    this.faults = { ...NO_FAULTS, ...initial };
  }

  get current(): Readonly<SftpFaults> {
    return this.faults;
  }

  set(update: Partial<SftpFaults>): void {
    this.faults = { ...this.faults, ...update };
    if (update.dropAfterBytes !== undefined) this.dropped.clear();
    if (update.stallAfterBytes !== undefined) this.stalled.clear();
  }

  /** Consumes the one-shot "still uploading" switch. */
  takeStillUploading(): boolean {
    const on = this.faults.stillUploading;
    if (on) this.faults = { ...this.faults, stillUploading: false };
    return on;
  }

  /** Bytes after which `file` must be dropped, or undefined when the fault is off or already fired for it. */
  dropLimit(file: string): number | undefined {
    return this.faults.dropAfterBytes > 0 && !this.dropped.has(file) ? this.faults.dropAfterBytes : undefined;
  }

  markDropped(file: string): void {
    this.dropped.add(file);
  }

  stallLimit(file: string): number | undefined {
    return this.faults.stallAfterBytes > 0 && !this.stalled.has(file) ? this.faults.stallAfterBytes : undefined;
  }

  markStalled(file: string): void {
    this.stalled.add(file);
  }

  /** How long to wait before sending `bytes` under the throttle (0 when off). */
  reserve(bytes: number, now = Date.now()): number {
    const rate = this.faults.bytesPerSecond;
    if (rate <= 0) return 0;
    const start = Math.max(now, this.throttleFreeAt);
    this.throttleFreeAt = start + (bytes / rate) * 1000;
    return Math.max(0, this.throttleFreeAt - now);
  }
}
