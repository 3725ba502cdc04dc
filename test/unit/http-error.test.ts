import { MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../../proxy/errors.js';
import { errorReply } from '../../proxy/http-error.js';

describe('errorReply: the one mapping from a thrown error to the HTTP answer', () => {
  it('a ProxyError answers as itself; a schema violation is 400 VALIDATION; neither is logged', () => {
    expect(errorReply(new ProxyError('NOT_FOUND'))).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: expect.any(String) as string } });
    expect(errorReply(Object.assign(new Error('body/limit must be <= 200'), { validation: [{}] }))).toEqual({ status: 400, body: { code: 'VALIDATION', message: 'body/limit must be <= 200' } });
  });

  it('a query past maxTimeMS is 503 QUERY_TIMEOUT; in the words FerretDB sometimes gives it (SQLite interrupted) too, then logged as a warning', () => {
    const timeout = { status: 503, body: { code: 'QUERY_TIMEOUT', message: expect.any(String) as string } };
    expect(errorReply(new MongoServerError({ code: 50, errmsg: 'operation exceeded time limit' }))).toEqual(timeout);
    const ferret = '[msg_find.go:344 handler.handleMaxTimeMSError] [collection.go:94 sqlite.(*collection).Query] interrupted (9)';
    expect(errorReply(new MongoServerError({ code: 1, codeName: 'InternalError', errmsg: ferret }))).toEqual({ ...timeout, log: 'warn' });
  });

  it('a write FerretDB\'s SQLite refused (busy, or interrupted outside a find) is 503 DB_BUSY with Retry-After, logged as a warning', () => {
    const interrupted = '[msg_delete.go:95 handler.(*Handler).MsgDelete] [collection.go:94 sqlite.(*collection).Query] interrupted (9)';
    for (const message of ['database is locked (517)', 'database is locked (5)', 'SQLITE_BUSY: database is locked', interrupted]) {
      expect(errorReply(new MongoServerError({ code: 1, errmsg: message })), message).toEqual({
        status: 503, body: { code: 'DB_BUSY', message: expect.stringContaining('try again') as string }, headers: { 'retry-after': '1' }, log: 'warn',
      });
    }
    // Only the database's own answer: an error of ours that quotes those words is not one.
    expect(errorReply(new Error('database is locked (517)'))).toMatchObject({ status: 500, body: { code: 'INTERNAL' } });
  });

  it('anything else is 500 INTERNAL without its message, logged as an error; a client error fastify raised keeps its status', () => {
    expect(errorReply(new Error('secret detail'))).toEqual({ status: 500, body: { code: 'INTERNAL', message: expect.not.stringContaining('secret') as string }, log: 'error' });
    expect(errorReply(Object.assign(new Error('too large'), { statusCode: 413 }))).toMatchObject({ status: 413, body: { code: 'INTERNAL' } });
    expect(errorReply(Object.assign(new Error('x'), { statusCode: 502 }))).toMatchObject({ status: 500 });
    expect(errorReply(null)).toMatchObject({ status: 500, body: { code: 'INTERNAL' } });
    expect(errorReply('a string')).toMatchObject({ status: 500, body: { code: 'INTERNAL' } });
  });
});
