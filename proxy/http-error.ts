import { MongoServerError } from 'mongodb';
import { isSqliteBusy } from './db/sqlite-busy.js';
import { ERRORS, ProxyError, type ErrorCode } from './errors.js';

/** MongoDB's MaxTimeMSExpired (FerretDB answers with the same code, mostly: see isQueryTimeout). */
const MAX_TIME_MS_EXPIRED = 50;

/**
 * A query stopped by its maxTimeMS. FerretDB 1.24's SQLite backend sometimes answers it, when the deadline interrupts
 * SQLite mid-query, as InternalError "[msg_find.go:344 handler.handleMaxTimeMSError] ... interrupted (9)"
 * (SQLITE_INTERRUPT) instead of code 50: the same event, named by its own handler.
 */
function isQueryTimeout(err: unknown): boolean {
  if (!(err instanceof MongoServerError)) return false;
  return err.code === MAX_TIME_MS_EXPIRED || /\bhandleMaxTimeMSError\b.*\binterrupted \(9\)/.test(err.message);
}

/** What the app answers for an error a route threw: status, body, extra headers, and how loudly it is logged. */
export interface ErrorReply {
  status: number;
  body: { code: string; message: string; details?: Readonly<Record<string, unknown>> };
  headers?: Readonly<Record<string, string>>;
  log?: 'warn' | 'error';
}

function reply(code: ErrorCode, extra: Omit<ErrorReply, 'status' | 'body'> = {}): ErrorReply {
  return { status: ERRORS[code].status, body: new ProxyError(code).toJSON(), ...extra };
}

/**
 * The one mapping from a thrown error to the HTTP answer (app.ts's error handler): a ProxyError as itself; a schema
 * violation 400 VALIDATION; a portal query past its maxTimeMS 503 QUERY_TIMEOUT; FerretDB's SQLite write lock,
 * still held after the retries of the writes that retry (db/sqlite-busy.ts), 503 DB_BUSY with Retry-After (a
 * temporary refusal, not a fault; MongoDB has no such lock); anything else 500 INTERNAL, logged, its message not sent
 * (a client error fastify raised keeps its 4xx status).
 */
export function errorReply(err: unknown): ErrorReply {
  if (err instanceof ProxyError) return { status: err.status, body: err.toJSON() };
  const e = err as { validation?: unknown; statusCode?: unknown; message?: unknown };
  if (e.validation) return { status: ERRORS.VALIDATION.status, body: { code: 'VALIDATION', message: String(e.message) } };
  if (isQueryTimeout(err)) return reply('QUERY_TIMEOUT');
  if (isSqliteBusy(err)) return reply('DB_BUSY', { headers: { 'retry-after': '1' }, log: 'warn' });
  const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
  return { status, body: { code: 'INTERNAL', message: ERRORS.INTERNAL.message }, log: 'error' };
}
