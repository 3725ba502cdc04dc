import { MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../../proxy/errors.js';
import { errorReply } from '../../proxy/http-error.js';

describe('errorReply: the one mapping from a thrown error to the HTTP answer', () => {
  it('a ProxyError answers as itself; a schema violation is 400 VALIDATION', () => {
    expect(errorReply(new ProxyError('NOT_FOUND'))).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(errorReply(Object.assign(new Error('body/limit must be <= 200'), { validation: [{}] }))).toEqual({ status: 400, body: { code: 'VALIDATION', message: 'body/limit must be <= 200' } });
  });

  it('a query past maxTimeMS is 503 QUERY_TIMEOUT, also in the words FerretDB sometimes gives it (SQLite interrupted)', () => {
    expect(errorReply(new MongoServerError({ code: 50, errmsg: 'operation exceeded time limit' }))).toMatchObject({ status: 503, body: { code: 'QUERY_TIMEOUT' } });
    const ferret = '[msg_find.go:344 handler.handleMaxTimeMSError] [collection.go:94 sqlite.(*collection).Query] interrupted (9)';
    expect(errorReply(new MongoServerError({ code: 1, codeName: 'InternalError', errmsg: ferret }))).toMatchObject({ status: 503, body: { code: 'QUERY_TIMEOUT' } });
    expect(errorReply(new MongoServerError({ code: 1, errmsg: 'interrupted (9)' }))).toMatchObject({ status: 500, body: { code: 'INTERNAL' } });
  });

  it('FerretDB\'s SQLite write lock is 503 DB_BUSY with Retry-After, logged as a warning, not 500 INTERNAL', () => {
    for (const message of ['database is locked (517)', 'database is locked (5)', 'SQLITE_BUSY: database is locked']) {
      expect(errorReply(new MongoServerError({ code: 1, errmsg: message }))).toEqual({
        status: 503, body: { code: 'DB_BUSY', message: expect.stringContaining('busy') as string }, headers: { 'retry-after': '1' }, log: 'warn',
      });
    }
  });

  it('anything else is 500 INTERNAL without its message, logged as an error; a client error fastify raised keeps its status', () => {
    expect(errorReply(new Error('secret detail'))).toEqual({ status: 500, body: { code: 'INTERNAL', message: expect.not.stringContaining('secret') as string }, log: 'error' });
    expect(errorReply(Object.assign(new Error('too large'), { statusCode: 413 }))).toMatchObject({ status: 413, body: { code: 'INTERNAL' } });
    expect(errorReply(Object.assign(new Error('x'), { statusCode: 502 }))).toMatchObject({ status: 500 });
  });
});
