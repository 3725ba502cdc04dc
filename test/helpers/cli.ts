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

export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
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
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          logs.push(parsed);
          if (options.killWhen && !killed && options.killWhen(parsed)) timers.push(setTimeout(kill, options.killDelayMs ?? 0));
        } catch {
          /* not a log line */
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timeout);
      for (const t of timers) clearTimeout(t);
      resolve({ code, signal, stdout, stderr, logs, killed });
    });
  });
}
