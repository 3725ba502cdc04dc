import { MongoServerError } from 'mongodb';
import { isSqliteRefusal } from './db/sqlite-busy.js';
import { ERRORS, ProxyError, type ErrorCode } from './errors.js';

/** MongoDB's MaxTimeMSExpired (FerretDB answers with the same code, mostly: see isFerretdbQueryInterrupt). */
const MAX_TIME_MS_EXPIRED = 50;

/**
 * FerretDB 1.24's SQLite backend sometimes answers a find stopped by its maxTimeMS, when the deadline interrupts
 * SQLite mid-query, as InternalError "[msg_find.go:344 handler.handleMaxTimeMSError] ... interrupted (9)"
 * (SQLITE_INTERRUPT) instead of code 50. Its handler wraps other find errors too, and its driver can deliver an
 * interrupt meant for another statement (db/sqlite-busy.ts), so this is logged (warn) where code 50 is not.
 */
function isFerretdbQueryInterrupt(err: MongoServerError): boolean {
  return /\bhandleMaxTimeMSError\b.*\binterrupted \(9\)/.test(err.message);
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
 * violation 400 VALIDATION; a portal query past its maxTimeMS 503 QUERY_TIMEOUT; a write FerretDB's SQLite still
 * refused after the retries of the writes that retry (busy, or interrupted: db/sqlite-busy.ts) 503 DB_BUSY with
 * Retry-After (a temporary refusal; MongoDB has neither); anything else 500 INTERNAL, logged, its message not sent
 * (a client error fastify raised keeps its 4xx status).
 */
export function errorReply(err: unknown): ErrorReply {
  if (err instanceof ProxyError) return { status: err.status, body: err.toJSON() };
  const e = (typeof err === 'object' && err !== null ? err : {}) as { validation?: unknown; statusCode?: unknown; message?: unknown };
  if (e.validation) return { status: ERRORS.VALIDATION.status, body: { code: 'VALIDATION', message: String(e.message) } };
  if (err instanceof MongoServerError) {
    if (err.code === MAX_TIME_MS_EXPIRED) return reply('QUERY_TIMEOUT');
    if (isFerretdbQueryInterrupt(err)) return reply('QUERY_TIMEOUT', { log: 'warn' });
    if (isSqliteRefusal(err)) return reply('DB_BUSY', { headers: { 'retry-after': '1' }, log: 'warn' });
  }
  const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
  return { status, body: { code: 'INTERNAL', message: ERRORS.INTERNAL.message }, log: 'error' };
}
