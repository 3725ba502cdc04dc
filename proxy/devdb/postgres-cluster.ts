import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants, rmSync } from 'node:fs';
import { access, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { ProxyError } from '../errors.js';
import { stopChild, watchChild } from './server-child.js';

const run = promisify(execFile);
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
/** Debian/Ubuntu's layout; POSTGRES_BIN_DIR overrides it. */
const CANDIDATE_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];
/** The socket's name is .s.PGSQL.<port>; the socket lives in the cluster's own directory, so any port is free. */
const PORT = 5432;

/** The directory holding `initdb` and `postgres`: `$POSTGRES_BIN_DIR`, else a Debian-packaged one; undefined when none. */
export async function findPostgresBinDir(): Promise<string | undefined> {
  const fromEnv = process.env.POSTGRES_BIN_DIR;
  const dirs = fromEnv ? [fromEnv] : CANDIDATE_DIRS;
  for (const dir of dirs) {
    if ((await isExecutable(join(dir, 'initdb'))) && (await isExecutable(join(dir, 'postgres')))) return dir;
  }
  if (fromEnv) throw new ProxyError('DB_NO_LOCAL_SERVER', `POSTGRES_BIN_DIR=${fromEnv} holds no initdb and postgres`);
  return undefined;
}

export interface RunningPostgres {
  /** libpq/pgx URL over the cluster's unix socket (user `ferretdb`, no password: trust on the socket only). */
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/**
 * A private, throw-away PostgreSQL cluster for FerretDB's `postgresql` handler (benches, dev): initdb into a new
 * /tmp/rp-pg-* directory, postgres listening on a unix socket in that directory only (no TCP, so it neither
 * clashes with nor is reachable from anything else), stopped and removed by stop() and killed when this process
 * exits. As root (postgres refuses to run as root) the cluster runs as the `postgres` user.
 * Commits are asynchronous (synchronous_commit=off): the cluster is deleted after the run anyway, and the
 * importer's own durability is what its tests check on the real database, not here.
 */
export async function startPostgresCluster(binDir: string, options: { log?: Logger } = {}): Promise<RunningPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-pg-'));
  const dataDir = join(dir, 'data');
  try {
    const owner = await clusterOwner();
    if (owner) await chown(dir, owner.uid, owner.gid);
    const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};
    await run(join(binDir, 'initdb'), ['-D', dataDir, '-U', 'ferretdb', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { ...ids, cwd: dir });
    const child = await spawnAndWait(binDir, dir, dataDir, ids, options.log);
    return {
      url: `postgres://ferretdb@/postgres?host=${encodeURIComponent(dir)}&port=${PORT}`,
      dir,
      stop: async () => {
        await stopChild(child, 'SIGINT', STOP_TIMEOUT_MS);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new ProxyError('DB_NO_LOCAL_SERVER', `PostgreSQL (${binDir}) did not start: ${(err as Error).message}`, { cause: err });
  }
}

async function spawnAndWait(binDir: string, dir: string, dataDir: string, ids: { uid?: number; gid?: number }, log: Logger | undefined): Promise<ChildProcess> {
  const settings = {
    listen_addresses: '',
    unix_socket_directories: dir,
    port: String(PORT),
    synchronous_commit: 'off',
    shared_buffers: '256MB',
    max_connections: '200',
    // FerretDB keeps everything in one jsonb column per document: bigger sorts fit in memory.
    work_mem: '32MB',
    maintenance_work_mem: '256MB',
    max_wal_size: '4GB',
    logging_collector: 'off',
  };
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const child = spawn(join(binDir, 'postgres'), args, { ...ids, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  // Never leave a cluster behind when this process exits (a crash included), from the moment it is spawned: the exit
  // hook cannot await, so it kills (immediate shutdown; the backends follow their postmaster) and removes the
  // directory synchronously, best effort. A death by signal emits no 'exit': the caller stops the cluster on
  // SIGINT/SIGTERM (bench/run.ts does).
  const removeOnExit = (): void => {
    child.kill('SIGQUIT');
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // postgres may still be writing as it shuts down: best effort in an exit hook, which must not throw.
    }
  };
  process.once('exit', removeOnExit);
  child.once('exit', () => process.removeListener('exit', removeOnExit));
  const watch = watchChild(child);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const exited = watch.exited();
    if (exited !== undefined) throw new Error(`${exited}: ${watch.stderr().trim()}`);
    try {
      await run(join(binDir, 'pg_isready'), ['-q', '-h', dir, '-p', String(PORT), '-U', 'ferretdb', '-d', 'postgres']);
      log?.debug({ dir }, 'PostgreSQL accepts connections');
      return child;
    } catch {
      await sleep(200);
    }
  }
  await stopChild(child, 'SIGINT', STOP_TIMEOUT_MS);
  throw new Error(`not ready within ${START_TIMEOUT_MS} ms: ${watch.stderr().trim()}`);
}


/** As root: the `postgres` account's ids (initdb and postgres refuse to run as root); otherwise none needed. */
async function clusterOwner(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === 'postgres' && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error('running as root and there is no postgres user to run the cluster as');
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
