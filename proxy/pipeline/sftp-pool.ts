import type { SftpSession } from '../sftp/connect.js';
import { openSftp } from '../sftp/connect.js';
import { normaliseFingerprint, sftpSources, type SftpSource } from '../sftp/sources.js';
import type { PipelineContext } from './context.js';

/**
 * The SFTP sessions of one cycle, at most one per server, opened on first use. The primary (`sftp.host`) is opened with
 * the context's `connectSftp` (tests inject theirs); peers with the same credentials and their own pinned host key.
 */
export class SftpPool {
  readonly sources: readonly SftpSource[];
  private readonly sessions = new Map<string, Promise<SftpSession>>();

  constructor(private readonly ctx: PipelineContext) {
    this.sources = sftpSources(ctx.config);
  }

  get primary(): SftpSource {
    return this.sources[0] as SftpSource;
  }

  /** The configured server with this host key; undefined when it is not (or no longer) configured. */
  byId(server: string | undefined): SftpSource | undefined {
    if (server === undefined) return undefined;
    const id = normaliseFingerprint(server);
    return this.sources.find((s) => s.id === id);
  }

  /** Where a job's archive is downloaded from: its recorded server, else the primary (jobs of older versions). */
  sourceFor(server: string | undefined): SftpSource {
    return this.byId(server) ?? this.primary;
  }

  get(source: SftpSource): Promise<SftpSession> {
    const existing = this.sessions.get(source.id);
    if (existing) return existing;
    const opening = source.primary ? this.ctx.connectSftp() : openSftp(source.target, this.ctx.log);
    this.sessions.set(source.id, opening);
    opening.catch(() => {
      if (this.sessions.get(source.id) === opening) this.sessions.delete(source.id);
    });
    return opening;
  }

  async drop(source: SftpSource): Promise<void> {
    const s = this.sessions.get(source.id);
    this.sessions.delete(source.id);
    await s?.then((session) => session.close()).catch(() => undefined);
  }

  async dropAll(): Promise<void> {
    for (const source of this.sources) await this.drop(source);
  }
}
