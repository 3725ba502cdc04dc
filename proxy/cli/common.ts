import { pino, type Logger } from 'pino';
import type { ProgressTerminal } from './progress-terminal.js';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../log/logger.js';

export interface CommonFlags { config?: string | undefined; 'log-level'?: string | undefined }

export async function loadConfigFor(flags: CommonFlags, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  return loadConfig({ path: flags.config, env });
}

/** The daemon logs JSON to stdout (journald); one-shot commands log to stderr so stdout stays for results. */
export function loggerFor(
  config: Pick<Config, 'log'> | undefined,
  flags: CommonFlags,
  target: 'stdout' | 'stderr',
  terminal?: ProgressTerminal,
): Logger {
  return createLogger({
    level: flags['log-level'] ?? config?.log.level ?? 'info',
    // With a live progress line on the terminal, log lines are written around it.
    destination: terminal ? { write: (line: string) => terminal.writeLog(line) } : pino.destination({ fd: target === 'stdout' ? 1 : 2, sync: true }),
  });
}
