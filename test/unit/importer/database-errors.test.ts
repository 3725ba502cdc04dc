import { MongoBulkWriteError, MongoNetworkError, MongoServerError, MongoWriteConcernError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { databaseError, redactUri } from '../../../proxy/db/connect.js';

describe('redactUri', () => {
  it('hides the password and secret-bearing options but keeps the user and hosts', () => {
    expect(redactUri('mongodb://app:s3cr%40t@h1:27017,h2:27018/db?replicaSet=rs0')).toBe('mongodb://app:***@h1:27017,h2:27018/db?replicaSet=rs0');
    expect(redactUri('mongodb+srv://app@cluster.example/db')).toBe('mongodb+srv://app@cluster.example/db');
    expect(redactUri('mongodb://h/?tlsCertificateKeyFilePassword=pw&authMechanismProperties=AWS_SESSION_TOKEN:tok')).toBe(
      'mongodb://h/?tlsCertificateKeyFilePassword=***&authMechanismProperties=***',
    );
  });
});

describe('databaseError', () => {
  it('write concern failures -> DB_NOT_DURABLE', () => {
    const wce = new MongoWriteConcernError({ writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' } } as never);
    expect(databaseError(wce, 'x')).toMatchObject({ code: 'DB_NOT_DURABLE' });
    expect(databaseError(new MongoServerError({ code: 64, errmsg: 'wtimeout' }), 'x')).toMatchObject({ code: 'DB_NOT_DURABLE' });
    const bulk = new MongoBulkWriteError({ message: 'wc', code: 64, writeErrors: [] }, { getWriteConcernError: () => ({ code: 64 }) } as never);
    expect(databaseError(bulk, 'x')).toMatchObject({ code: 'DB_NOT_DURABLE' });
  });

  it('network and stepdown -> DB_UNAVAILABLE; other server refusals -> DB_WRITE_REJECTED; auth -> DB_AUTH_FAILED', () => {
    expect(databaseError(new MongoNetworkError('reset'), 'x')).toMatchObject({ code: 'DB_UNAVAILABLE' });
    expect(databaseError(new MongoServerError({ code: 10107, errmsg: 'not primary' }), 'x')).toMatchObject({ code: 'DB_UNAVAILABLE' });
    expect(databaseError(new MongoServerError({ code: 18, errmsg: 'auth' }), 'x')).toMatchObject({ code: 'DB_AUTH_FAILED' });
    const bulk = new MongoBulkWriteError(
      { message: 'too big', code: 10334, writeErrors: [{ index: 3, code: 10334 }] } as never,
      { getWriteConcernError: () => undefined } as never,
    );
    expect(databaseError(bulk, 'x')).toMatchObject({ code: 'DB_WRITE_REJECTED', details: { firstIndex: 3 } });
  });

  it('leaves non-driver errors alone', () => {
    const e = new Error('plain');
    expect(databaseError(e, 'x')).toBe(e);
  });
});
