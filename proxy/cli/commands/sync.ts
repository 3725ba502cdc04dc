import { createServices } from '../../services.js';
import type { CycleSummary } from '../../pipeline/sync-cycle.js';
import { stderrProgressTerminal } from '../progress-terminal.js';
import { loadConfigFor, loggerFor, type CommonFlags } from '../common.js';
import { EXIT, type CliIo, type ExitCode } from '../io.js';

export interface SyncFlags extends CommonFlags { once?: boolean | undefined; json?: boolean | undefined }

/** `sync --once`: one full cycle; exit 0 only if every archive found ended imported and reported. */
export async function syncCommand(flags: SyncFlags, io: CliIo, signal: AbortSignal): Promise<ExitCode> {
  if (!flags.once) {
    io.err('sync needs --once (the daemon is `retention-proxy run`)');
    return EXIT.USAGE;
  }
  const config = await loadConfigFor(flags);
  const terminal = stderrProgressTerminal();
  const log = loggerFor(config, flags, 'stderr', terminal);
  const services = await createServices(config, log, signal, terminal ? { progress: terminal } : {});
  try {
    await services.takeLeaseForCommand();
    const summary = await services.runner.trigger('sync --once');
    if (!summary) return EXIT.INCOMPLETE;
    io.out(flags.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
    return summary.ok ? EXIT.OK : EXIT.INCOMPLETE;
  } finally {
    await services.close();
  }
}

export function formatSummary(s: CycleSummary): string {
  const lines = s.archives.map((a) => `${a.state.padEnd(10)} ${a.fileName}${a.error ? `  ${a.error.code}: ${a.error.message}` : ''}`);
  if (s.listingError) lines.push(`listing failed: ${s.listingError.code}: ${s.listingError.message}`);
  lines.push(`${s.archives.length} archive(s); reports delivered ${s.outbox.delivered}, pending ${s.outbox.pending}; ${s.ok ? 'OK' : 'NOT COMPLETE'}`);
  return lines.join('\n');
}
