/**
 * Extracts one validated entry into its target file: key check, decode pipeline, plaintext verification, write. No
 * fsync: extracted files are scratch (see extract.ts). The same code runs in an extraction worker thread
 * (extract-worker.ts) or on the calling thread. The caller has already checked the target path and created its
 * directory.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { EntryLayout, PositionalReader } from './central-directory.js';
import { decodingStages, mapEntryError, preferMacFailure, prepareDecryption } from './entry-decoder.js';
import { PlaintextVerifier, plaintextExpectations, type ByteBudget } from './plaintext-verifier.js';
import { extractSmallEntry, isSmallEntry } from './small-entry.js';

const WRITE_CHUNK = 1024 * 1024;

export interface EntryFileContext {
  readonly reader: PositionalReader;
  readonly password: string;
  readonly budget: ByteBudget;
  readonly signal: AbortSignal | undefined;
  /** Entries at most this large (stored and expanded) are extracted in memory (small-entry.ts); 0: every entry streams. */
  readonly inMemoryBytes: number;
}

export interface EntryFileResult {
  /** Plaintext bytes written (or kept). */
  size: number;
  /** Unsigned CRC-32 of the plaintext. */
  crc32: number;
  /** The verified plaintext, when the entry was kept in memory: then no file was written. */
  data?: Buffer;
}

/**
 * `keep`: a small entry (isSmallEntry) is returned in `data` instead of written to `target`; a larger one is written
 * whatever `keep` says (the caller decides with the same isSmallEntry).
 */
export async function extractEntryFile(ctx: EntryFileContext, e: EntryLayout, target: string, keep = false): Promise<EntryFileResult> {
  if (isSmallEntry(e, ctx.inMemoryBytes)) return extractSmallEntry(ctx, e, target, keep);
  ctx.signal?.throwIfAborted();
  // Key first: a wrong key is detected before the file exists.
  const prep = await prepareDecryption(ctx.reader, e, ctx.password);
  const { source, transforms, aes } = decodingStages(ctx.reader, e, prep);
  const verifier = new PlaintextVerifier(plaintextExpectations(e), ctx.budget);
  // pipeline() settles only after the stream closed its descriptor (fs streams emit 'close'; finished() waits for it).
  const ws = createWriteStream(target, { flags: 'wx', mode: 0o640, highWaterMark: WRITE_CHUNK });
  try {
    await pipeline([source, ...transforms, verifier, ws], ctx.signal ? { signal: ctx.signal } : {});
  } catch (err) {
    // The failed pipeline destroyed `ws`, which closes its own descriptor: wait for that rather than closing it
    // again (a second close could hit a descriptor number already reused by another entry).
    if (!ws.destroyed) ws.destroy();
    if (!ws.closed) await new Promise<void>((done) => ws.once('close', () => done()));
    throw mapEntryError(aes ? await preferMacFailure(ctx.reader, prep, aes, err) : err, e.path);
  }
  return { size: verifier.bytes, crc32: verifier.crc32 };
}
