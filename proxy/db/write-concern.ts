import { MongoError, MongoNetworkError, MongoServerSelectionError, MongoWriteConcernError, type WriteConcernSettings } from 'mongodb';
import { ProxyError } from '../errors.js';

export function majority(wtimeoutMs: number): WriteConcernSettings {
  return { w: 'majority', wtimeoutMS: wtimeoutMs };
}

/** Maps driver errors to the project's codes: write-concern timeouts mean "not yet durable", never "done". */
export function toDbError(err: unknown, what: string): unknown {
  if (err instanceof ProxyError) return err;
  if (err instanceof MongoWriteConcernError) return new ProxyError('DB_NOT_DURABLE', what, { cause: err });
  if (err instanceof MongoError) {
    const e = err as MongoError & { writeConcernError?: unknown; errorResponse?: { writeConcernError?: unknown } };
    if (e.code === 64 || e.writeConcernError !== undefined || e.errorResponse?.writeConcernError !== undefined) {
      return new ProxyError('DB_NOT_DURABLE', what, { cause: err });
    }
  }
  if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError) return new ProxyError('DB_UNAVAILABLE', what, { cause: err });
  return err;
}

export async function dbCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toDbError(err, what);
  }
}
