import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, cleanEnv, jsonLines } from './cli.js';

export type LogLine = Record<string, unknown>;

/** `retention-proxy run` as a child process: its JSON log (stdout) parsed as it comes, its portal URL, kill and wait. */
export interface Daemon {
  readonly name: string;
  readonly logs: LogLine[];
  readonly child: ChildProcess;
  /** Resolves with the first log line (from now on or already seen) for which `pred` is true. */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** http://127.0.0.1:PORT of the portal, once the daemon logged it. */
  url(): Promise<string>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startDaemon(name: string, configPath: string): Daemon {
  const child = spawn(process.execPath, [CLI, 'run', '--config', configPath], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', jsonLines((parsed) => {
    logs.push(parsed);
    for (const w of [...waiters]) {
      if (w.pred(parsed)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    }
  }));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const waitFor = (pred: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> => {
    const seen = logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no matching log line within ${timeoutMs} ms; last lines:\n${logs.slice(-40).map((l) => JSON.stringify(l)).join('\n')}\n${stderr.slice(-2000)}`)), timeoutMs);
      waiters.push({ pred, resolve: (l) => { clearTimeout(timer); resolve(l); } });
      void exited.then(() => { clearTimeout(timer); reject(new Error(`${name} exited while waiting; stderr: ${stderr.slice(-2000)}`)); });
    });
  };
  return {
    name,
    logs,
    child,
    exited,
    waitFor,
    url: async () => {
      const l = await waitFor((x) => x.msg === 'retention proxy running');
      const addr = (l.portal as { address: string; port: number }[] | undefined)?.find((a) => a.address === '127.0.0.1') ?? (l.portal as { port: number }[])[0];
      return `http://127.0.0.1:${String(addr?.port)}`;
    },
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
