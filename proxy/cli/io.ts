/** Where a command writes: stdout for results, stderr for human notes. Injected so tests can capture. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** Exit codes: 0 success, 1 the work did not complete (sync not ok, a check failed), 2 usage or configuration error. */
export const EXIT = { OK: 0, INCOMPLETE: 1, USAGE: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
