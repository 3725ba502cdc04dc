import { pino, type Logger, type DestinationStream } from 'pino';
import { secretLogPaths } from '../config/load-config.js';

export type { Logger };

/** The root logger: JSON lines to stdout (journald), secrets redacted by key wherever they appear. */
export function createLogger(options: { level: string; destination?: DestinationStream; base?: Record<string, unknown> }): Logger {
  return pino(
    {
      level: options.level,
      base: { ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: secretLogPaths(), censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** Child logger for one job: every line carries the component and the vendor's jobId. */
export function jobLogger(log: Logger, component: string, jobId: string, fileName?: string): Logger {
  return log.child(fileName ? { component, jobId, fileName } : { component, jobId });
}
