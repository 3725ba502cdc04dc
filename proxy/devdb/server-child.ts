import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** What a local server child (FerretDB, PostgreSQL) has said and whether it has ended, while it starts. */
export interface ChildWatch {
  /** The last 4 000 characters of its stderr (read continuously, so the pipe never fills and stalls it). */
  stderr(): string;
  /** Why it ended ("exited with code 1", a spawn error), or undefined while it runs. */
  exited(): string | undefined;
}

export function watchChild(child: ChildProcess): ChildWatch {
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${code}`}`;
  });
  child.once('error', (err) => {
    exited = err.message;
  });
  return { stderr: () => stderr, exited: () => exited };
}

/** Asks the child to stop with `signal`, then SIGKILL after `timeoutMs`; resolves once it has exited. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const cancel = new AbortController();
  const timer = sleep(timeoutMs, 'timeout' as const, { signal: cancel.signal }).catch(() => 'cancelled' as const);
  const outcome = await Promise.race([exited.then(() => 'exited' as const), timer]);
  cancel.abort();
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}
