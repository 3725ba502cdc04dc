/**
 * Messages between extract.ts (main thread) and extract-worker.ts, and how errors cross the thread boundary: a
 * ProxyError keeps its code, text and details; an AbortError stays an AbortError; anything else becomes INTERNAL.
 */
import { ERRORS, ProxyError, type ErrorCode } from '../errors.js';
import type { EntryLayout } from './central-directory.js';
import type { EntryFileResult } from './entry-file.js';

export interface WorkerInit {
  /** The archive's descriptor, opened by the main thread (descriptors are process-wide; reads are positional). */
  readonly fd: number;
  readonly password: string;
  /** ByteBudget memory and limit. */
  readonly budget: SharedArrayBuffer;
  readonly limit: number;
  /** EntryFileContext.inMemoryBytes. */
  readonly inMemoryBytes: number;
}

export type ToWorker =
  | { readonly type: 'entry'; readonly id: number; readonly entry: EntryLayout; readonly target: string; readonly keep: boolean }
  | { readonly type: 'abort' };

export type FromWorker =
  | { readonly type: 'done'; readonly id: number; readonly result: WorkerResult }
  | { readonly type: 'failed'; readonly id: number; readonly error: SerializedError };

/** EntryFileResult as it arrives: a kept entry's bytes were structured-cloned, which makes a Buffer a Uint8Array. */
export type WorkerResult = Omit<EntryFileResult, 'data'> & { readonly data?: Uint8Array };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
  readonly details: Record<string, unknown> | undefined;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof ProxyError) {
    return { name: err.name, message: err.message, code: err.code, details: err.details ? { ...err.details } : undefined };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, message: e.message, code: undefined, details: undefined };
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

export function deserializeError(s: SerializedError): Error {
  if (s.code !== undefined && isErrorCode(s.code)) {
    const base = ERRORS[s.code].message;
    const detail = s.message.startsWith(`${base}: `) ? s.message.slice(base.length + 2) : undefined;
    return new ProxyError(s.code, detail, s.details ? { details: s.details } : undefined);
  }
  if (s.name === 'AbortError') {
    const abort = new Error(s.message);
    abort.name = 'AbortError';
    return abort;
  }
  return new ProxyError('INTERNAL', `extraction worker: ${s.message}`);
}
