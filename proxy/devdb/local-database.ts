import type { Logger } from 'pino';
import { redactUri } from '../db/connect.js';
import { ProxyError } from '../errors.js';
import { dockerAnswers, startDockerMongo, MONGO_IMAGE } from './docker-mongo.js';
import { FERRETDB_VERSION, ferretdbBuild, ferretdbCachePath, findFerretdbBinary, startFerretdb } from './ferretdb-server.js';
import { findPostgresBinDir, startPostgresCluster, type RunningPostgres } from './postgres-cluster.js';

export interface LocalDatabase {
  uri: string;
  kind: 'external' | 'testcontainers' | 'ferretdb' | 'ferretdb-pg';
  /** One line for logs (the URI is redacted). */
  description: string;
  stop(): Promise<void>;
}

/**
 * A MongoDB-compatible database for the tests and `retention-proxy demo`, in this order (never a silent skip):
 * 1. `MONGODB_URI` when set;
 * 2. mongo:4.2 as a single-node replica set via testcontainers when a Docker engine answers;
 * 3. FerretDB with its SQLite backend: `$FERRETDB_BIN`, `ferretdb` on PATH, or the binary built by
 *    scripts/install-ferretdb.sh; data in `dataDir` when given (kept), else in a temporary directory;
 *    with `ferretdbBackend: 'pg'` (default 'sqlite'; the bench's BENCH_FERRETDB_BACKEND) its PostgreSQL backend instead, on
 *    a private PostgreSQL cluster started for it (postgres-cluster.ts) and removed by stop(). For the portal
 *    bench only: FerretDB 1.24 on PostgreSQL stops answering after one bulkWrite of 50 conditional updates, the
 *    size the importer's room-statistics refresh uses, so imports and the demo hang there;
 * 4. else DB_NO_LOCAL_SERVER, saying how to get one.
 */
export async function findOrStartLocalDatabase(options: { dataDir?: string; log?: Logger; ferretdbBackend?: 'sqlite' | 'pg' }): Promise<LocalDatabase> {
  const log = options.log?.child({ component: 'local-database' });

  const external = process.env.MONGODB_URI;
  if (external) {
    return { uri: external, kind: 'external', description: `MONGODB_URI ${redactUri(external)}`, stop: () => Promise.resolve() };
  }

  if (await dockerAnswers(log)) {
    const mongo = await startDockerMongo(log);
    return { uri: mongo.uri, kind: 'testcontainers', description: `${MONGO_IMAGE} replica set in Docker (${mongo.uri})`, stop: () => mongo.stop() };
  }

  const binary = await findFerretdbBinary();
  const backend = options.ferretdbBackend ?? 'sqlite';
  if (binary && backend === 'pg') return startFerretdbOnPostgres(binary, options.dataDir, log);
  if (binary) {
    const build = await ferretdbBuild(binary);
    const server = await startFerretdb(binary, { ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }), ...(log ? { log } : {}) });
    return {
      uri: server.uri,
      kind: 'ferretdb',
      description: `FerretDB (SQLite, ${build}) ${binary} on 127.0.0.1:${server.port}, data in ${server.dataDir}`,
      stop: () => server.stop(),
    };
  }

  throw new ProxyError(
    'DB_NO_LOCAL_SERVER',
    'set MONGODB_URI=mongodb://HOST:PORT/?replicaSet=NAME to use an existing MongoDB, or start a Docker engine ' +
      `(a ${MONGO_IMAGE} container is started), or run scripts/install-ferretdb.sh to build FerretDB ${FERRETDB_VERSION} ` +
      `into ${ferretdbCachePath()} (or point FERRETDB_BIN at a ferretdb binary)`,
  );
}

async function startFerretdbOnPostgres(binary: string, dataDir: string | undefined, log: Logger | undefined): Promise<LocalDatabase> {
  const binDir = await findPostgresBinDir();
  if (binDir === undefined) {
    throw new ProxyError('DB_NO_LOCAL_SERVER', 'FerretDB on PostgreSQL needs PostgreSQL (initdb, postgres): install it or set POSTGRES_BIN_DIR');
  }
  const pg: RunningPostgres = await startPostgresCluster(binDir, log ? { log } : {});
  try {
    const server = await startFerretdb(binary, { ...(dataDir === undefined ? {} : { dataDir }), ...(log ? { log } : {}), backend: { handler: 'postgresql', url: pg.url } });
    return {
      uri: server.uri,
      kind: 'ferretdb-pg',
      description: `FerretDB (PostgreSQL) ${binary} on 127.0.0.1:${server.port}, PostgreSQL cluster in ${pg.dir}`,
      stop: async () => {
        try {
          await server.stop();
        } finally {
          await pg.stop();
        }
      },
    };
  } catch (err) {
    await pg.stop();
    throw err;
  }
}
