import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (npm test builds first): e2e tests run the real artefact, as a user would. */
export const CLI = fileURLToPath(new URL('../../dist/proxy/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Parsed pino lines from stderr. */
  logs: Record<string, unknown>[];
  killed: boolean;
}

export interface RunCliOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  /** SIGKILL the process `delayMs` after the first log line for which this returns true. */
  killWhen?: (line: Record<string, unknown>) => boolean;
  killDelayMs?: number;
  /** SIGKILL after this many ms regardless. */
  killAfterMs?: number;
}

export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RETENTION_PROXY_') && k !== 'MONGODB_URI') env[k] = v;
  return { ...env, ...extra };
}

/** Feeds chunks of a JSON-lines stream (pino) and calls `onLine` with each parsed line; other lines are skipped. */
export function jsonLines(onLine: (line: Record<string, unknown>) => void): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // not a log line
      }
      onLine(parsed);
    }
  };
}

export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const logs: Record<string, unknown>[] = [];
    let killed = false;
    const kill = (): void => {
      if (!killed && child.exitCode === null) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    const timers: NodeJS.Timeout[] = [];
    if (options.killAfterMs !== undefined) timers.push(setTimeout(kill, options.killAfterMs));
    const timeout = setTimeout(() => {
      kill();
      reject(new Error(`CLI ${args.join(' ')} timed out after ${options.timeoutMs ?? 120_000} ms\n${stderr.slice(-4000)}`));
    }, options.timeoutMs ?? 120_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const onLogLine = jsonLines((parsed) => {
      logs.push(parsed);
      if (options.killWhen && !killed && options.killWhen(parsed)) timers.push(setTimeout(kill, options.killDelayMs ?? 0));
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      onLogLine(d);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timeout);
      for (const t of timers) clearTimeout(t);
      resolve({ code, signal, stdout, stderr, logs, killed });
    });
  });
}
