import {
  MongoBulkWriteError,
  MongoClient,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
  ReadConcern,
  type Db,
  type MongoClientOptions,
  type WriteError,
} from 'mongodb';
import type { Logger } from 'pino';
import { ProxyError, isProxyError } from '../errors.js';

export interface DatabaseConfig {
  uri: string;
  database: string;
  /** Given separately (e.g. from a systemd credential); never logged, never put into a string. */
  password?: string;
  writeConcernTimeoutMs: number;
  serverSelectionTimeoutMs?: number;
  appName?: string;
}

const AUTH_FAILED_CODES = new Set([18, 11]); // AuthenticationFailed, UserNotFound
/** Server codes meaning "this server cannot take the write right now": retry later. */
const TRANSIENT_SERVER_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);
const WRITE_CONCERN_FAILED = 64;

/**
 * MongoClient connected to `cfg.uri`, with write concern `{ w: 'majority', j: true, wtimeoutMS }` and retryable writes.
 * A separately given password is passed as client auth option (the URI must name the user), never logged.
 * The returned Db reads with readConcern 'majority' when the server is a replica set member (FerretDB is not).
 */
export async function connectDatabase(cfg: DatabaseConfig, log: Logger): Promise<{ client: MongoClient; db: Db }> {
  const dbLog = log.child({ component: 'db' });
  const options: MongoClientOptions = {
    retryWrites: true,
    writeConcern: { w: 'majority', journal: true, wtimeoutMS: cfg.writeConcernTimeoutMs },
    serverSelectionTimeoutMS: cfg.serverSelectionTimeoutMs ?? 30_000,
    ...(cfg.appName === undefined ? {} : { appName: cfg.appName }),
  };
  if (cfg.password !== undefined) {
    const username = usernameOf(cfg.uri);
    if (username === undefined) {
      throw new ProxyError('CONFIG_INVALID', 'a database password is configured but the database URI names no user (mongodb://USER@host/...)');
    }
    options.auth = { username, password: cfg.password };
  }

  let client: MongoClient;
  try {
    client = new MongoClient(cfg.uri, options);
  } catch (err) {
    throw new ProxyError('CONFIG_INVALID', `database URI ${redactUri(cfg.uri)} is not valid`, { cause: err });
  }
  try {
    await client.connect();
    const hello = await client.db('admin').command({ hello: 1 });
    const replicaSet = typeof hello.setName === 'string';
    const db = client.db(cfg.database, replicaSet ? { readConcern: new ReadConcern('majority') } : {});
    dbLog.info(
      { uri: redactUri(cfg.uri), database: cfg.database, replicaSet, readConcern: replicaSet ? 'majority' : 'default' },
      'connected to the database',
    );
    return { client, db };
  } catch (err) {
    await client.close().catch(() => undefined);
    throw databaseError(err, `connecting to ${redactUri(cfg.uri)}`);
  }
}

/** The URI with its password (and other secret-bearing options) replaced by `***`, for logs and messages. */
export function redactUri(uri: string): string {
  let out = uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon === -1 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
  out = out.replace(/([?&](?:authMechanismProperties|tlsCertificateKeyFilePassword|password)=)[^&#]*/gi, '$1***');
  return out;
}

function usernameOf(uri: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^@/?#]*)@/i.exec(uri);
  if (!m?.[1]) return undefined;
  const user = m[1].split(':')[0] ?? '';
  return user === '' ? undefined : decodeURIComponent(user);
}

/**
 * Classifies a driver error into the project's codes:
 * - write concern not satisfied (timeout, code 64, writeConcernError) -> DB_NOT_DURABLE: retry later, do not report;
 * - network, server selection, stepdown, shutdown -> DB_UNAVAILABLE;
 * - authentication -> DB_AUTH_FAILED;
 * - any other server refusal (e.g. a document the server rejects) -> DB_WRITE_REJECTED.
 * Errors that are not driver errors (including ProxyErrors) are returned unchanged.
 */
export function databaseError(err: unknown, action: string): unknown {
  if (isProxyError(err) || !(err instanceof MongoError)) return err;
  const details = { action, driverError: err.name, ...(err.code === undefined ? {} : { serverCode: err.code }) };
  if (err instanceof MongoBulkWriteError) {
    const raw = err.writeErrors;
    const writeErrors: WriteError[] = Array.isArray(raw) ? (raw as WriteError[]) : [raw as WriteError];
    const first = writeErrors[0];
    if (first === undefined && isWriteConcernFailure(err)) {
      return new ProxyError('DB_NOT_DURABLE', `${action}: ${err.message}`, { cause: err, details });
    }
    if (first === undefined && isTransient(err)) return new ProxyError('DB_UNAVAILABLE', `${action}: ${err.message}`, { cause: err, details });
    return new ProxyError('DB_WRITE_REJECTED', `${action}: ${err.message}`, {
      cause: err,
      details: { ...details, writeErrors: writeErrors.length, firstIndex: first?.index, firstCode: first?.code },
    });
  }
  if (isWriteConcernFailure(err)) return new ProxyError('DB_NOT_DURABLE', `${action}: ${err.message}`, { cause: err, details });
  if (err instanceof MongoServerError && typeof err.code === 'number' && AUTH_FAILED_CODES.has(err.code)) {
    return new ProxyError('DB_AUTH_FAILED', action, { cause: err, details });
  }
  if (isTransient(err)) return new ProxyError('DB_UNAVAILABLE', `${action}: ${err.message}`, { cause: err, details });
  if (err instanceof MongoServerError) return new ProxyError('DB_WRITE_REJECTED', `${action}: ${err.message}`, { cause: err, details });
  return err;
}

function isWriteConcernFailure(err: MongoError): boolean {
  if (err instanceof MongoWriteConcernError) return true;
  if (err.code === WRITE_CONCERN_FAILED) return true;
  if (err instanceof MongoBulkWriteError) return err.result?.getWriteConcernError() != null;
  if (err instanceof MongoServerError) {
    const response: unknown = err.errorResponse;
    return typeof response === 'object' && response !== null && 'writeConcernError' in response;
  }
  return false;
}

function isTransient(err: MongoError): boolean {
  if (
    err instanceof MongoNetworkError ||
    err instanceof MongoServerSelectionError ||
    err instanceof MongoTopologyClosedError ||
    err instanceof MongoNotConnectedError
  ) {
    return true;
  }
  if (err.hasErrorLabel('RetryableWriteError') || err.hasErrorLabel('TransientTransactionError')) return true;
  return typeof err.code === 'number' && TRANSIENT_SERVER_CODES.has(err.code);
}
