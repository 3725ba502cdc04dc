import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, realpath, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import { ProxyError } from '../errors.js';
import { stopChild, watchChild } from './server-child.js';

export const FERRETDB_VERSION = 'v1.24.2';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** Where scripts/install-ferretdb.sh puts the binary it builds. */
export function ferretdbCachePath(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'retention-proxy', `ferretdb-${FERRETDB_VERSION}`, 'ferretdb');
}

/**
 * The FerretDB binary to use: `$FERRETDB_BIN` (which must then exist), else `ferretdb` on PATH, else the one
 * scripts/install-ferretdb.sh builds; undefined when there is none.
 */
export async function findFerretdbBinary(): Promise<string | undefined> {
  const fromEnv = process.env.FERRETDB_BIN;
  if (fromEnv) {
    if (await isExecutable(fromEnv)) return fromEnv;
    throw new ProxyError('DB_NO_LOCAL_SERVER', `FERRETDB_BIN=${fromEnv} is not an executable file`);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutable(join(dir, 'ferretdb')))) return join(dir, 'ferretdb');
  }
  const cached = ferretdbCachePath();
  return (await isExecutable(cached)) ? cached : undefined;
}

/**
 * Which build `binary` is: the fix level scripts/install-ferretdb.sh writes beside the binary it builds (its
 * `patch-level` file, e.g. `sqlite-id-index-1`, looked up beside the file a symlink points to), or `unstamped` for a
 * binary without one (FERRETDB_BIN, PATH: a stock 1.24, whose updates by `_id` scan their collection, unless built
 * with the same fix). Benchmarks report it (docs/benchmarks.md, "FerretDB's own _id index").
 */
export async function ferretdbBuild(binary: string): Promise<string> {
  const file = await realpath(binary).catch(() => binary);
  const level = (await readFile(join(dirname(file), 'patch-level'), 'utf8').catch(() => '')).trim();
  return /^[\w.-]{1,64}$/.test(level) ? level : 'unstamped';
}

export interface RunningFerretdb {
  uri: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

/** FerretDB's storage: SQLite files in the data directory (the default), or a PostgreSQL database at `url`. */
export type FerretdbBackend = { handler: 'sqlite' } | { handler: 'postgresql'; url: string };

/**
 * Starts FerretDB on a free 127.0.0.1 port and waits until it answers `hello`. Its state (and with SQLite its data)
 * goes to `dataDir` when given (kept), else to a temporary directory (removed by stop()).
 */
export async function startFerretdb(binary: string, options: { dataDir?: string; log?: Logger; backend?: FerretdbBackend }): Promise<RunningFerretdb> {
  const backend = options.backend ?? { handler: 'sqlite' };
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'rp-ferretdb-')));
  if (backend.handler === 'sqlite') await mkdir(join(dataDir, 'sqlite'), { recursive: true });
  let lastError: unknown;
  // The free port is found before FerretDB binds it; another process may take it in between, so try a few times.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnAndWait(binary, backend, dataDir, port, options.log);
      return {
        uri: `mongodb://127.0.0.1:${port}/?directConnection=true`,
        port,
        dataDir,
        stop: async () => {
          await stopChild(child, 'SIGTERM', STOP_TIMEOUT_MS);
          if (ownDir) await rm(dataDir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      options.log?.warn({ attempt, port, err: (err as Error).message }, 'FerretDB did not start');
    }
  }
  if (ownDir) await rm(dataDir, { recursive: true, force: true });
  throw new ProxyError('DB_NO_LOCAL_SERVER', `FerretDB (${binary}) did not start: ${(lastError as Error).message}`, { cause: lastError });
}

async function spawnAndWait(binary: string, backend: FerretdbBackend, dataDir: string, port: number, log: Logger | undefined): Promise<ChildProcess> {
  const args = [
    ...(backend.handler === 'sqlite'
      ? ['--handler=sqlite', `--sqlite-url=file:${join(dataDir, 'sqlite')}/`]
      : ['--handler=postgresql', `--postgresql-url=${backend.url}`]),
    `--state-dir=${dataDir}`,
    `--listen-addr=127.0.0.1:${port}`,
    '--debug-addr=-',
    '--telemetry=disable',
    '--log-level=warn',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const watch = watchChild(child);
  // Never leave a server running after this process ends, even on a crash.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));

  const deadline = Date.now() + START_TIMEOUT_MS;
  const uri = `mongodb://127.0.0.1:${port}/?directConnection=true&serverSelectionTimeoutMS=500&connectTimeoutMS=500`;
  while (Date.now() < deadline) {
    const exited = watch.exited();
    if (exited !== undefined) throw new Error(`${exited}: ${watch.stderr().trim()}`);
    const client = new MongoClient(uri);
    try {
      await client.db('admin').command({ hello: 1 });
      log?.debug({ port, dataDir }, 'FerretDB answers hello');
      return child;
    } catch {
      await sleep(200);
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  await stopChild(child, 'SIGTERM', STOP_TIMEOUT_MS);
  throw new Error(`no answer to hello within ${START_TIMEOUT_MS} ms: ${watch.stderr().trim()}`);
}


function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
