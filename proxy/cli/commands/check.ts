import { runChecks } from '../../check/run-checks.js';
import { loadConfigFor, loggerFor, type CommonFlags } from '../common.js';
import { EXIT, type CliIo, type ExitCode } from '../io.js';

export interface CheckFlags extends CommonFlags { json?: boolean | undefined }

/** `check`: PASS/WARN/FAIL per line; non-zero exit on any FAIL. */
export async function checkCommand(flags: CheckFlags, io: CliIo): Promise<ExitCode> {
  const config = await loadConfigFor(flags);
  io.err(`configuration ${flags.config ?? '(default path / environment)'} is valid`);
  const lines = await runChecks(config, loggerFor(config, { ...flags, 'log-level': flags['log-level'] ?? 'warn' }, 'stderr'));
  if (flags.json) io.out(JSON.stringify(lines, null, 2));
  else for (const l of lines) io.out(`${l.status.padEnd(4)}  ${l.name.padEnd(24)} ${l.detail}`);
  return lines.some((l) => l.status === 'FAIL') ? EXIT.INCOMPLETE : EXIT.OK;
}
