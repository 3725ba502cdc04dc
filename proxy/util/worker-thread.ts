/**
 * Starts one of our worker threads (compiled JavaScript next to the calling module). Workers inherit the parent's
 * execArgv; `--input-type` / `-e` / `-p` (a parent started as `node --input-type=module -e ...`, as the benchmark's
 * child processes are) make a file-based worker fail at start, so those are left out.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const WITH_VALUE = new Set(['-e', '--eval', '-p', '--print']);

export function workerExecArgv(parent: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const arg = parent[i]!;
    if (WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith('--input-type') && !arg.startsWith('--eval=') && !arg.startsWith('--print=')) out.push(arg);
  }
  return out;
}

/** True when the compiled worker script exists (not when running from the TypeScript sources, e.g. under vitest). */
export function workerScriptExists(url: URL): boolean {
  return existsSync(fileURLToPath(url));
}

export function startWorker(url: URL, workerData: unknown): Worker {
  return new Worker(url, { workerData, execArgv: workerExecArgv() });
}
