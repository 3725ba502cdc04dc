/**
 * Public entry points of the archive layer: inspectArchive (structure only) and extractArchive (verify + write).
 * yauzl reads the container; decryption, inflate and verification run in our own stream pipeline (see docs/zip-reader.md).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { ProxyError, isProxyError } from '../errors.js';
import { readCentralDirectory, readLocalHeaders, type CentralDirectory, type ZipEntryInfo } from './central-directory.js';
import { DurableWrites } from './durable-writes.js';
import { decodingStages, mapEntryError, preferMacFailure, prepareDecryption } from './entry-decoder.js';
import { PlaintextVerifier, type ByteBudget } from './plaintext-verifier.js';

export interface ExtractLimits {
  /** e.g. 200_000 */
  maxEntries: number;
  /** Total uncompressed bytes, e.g. 64 GiB. */
  maxTotalBytes: number;
  /** Uncompressed/compressed per entry, e.g. 200 (applied only when uncompressed > 1 MiB). */
  maxEntryRatio: number;
}

export interface ExtractOptions {
  /** The Archive Key. */
  password: string;
  /** false: any unencrypted file entry -> ARCHIVE_NOT_ENCRYPTED (downgrade). */
  allowUnencrypted: boolean;
  limits: ExtractLimits;
  log?: Logger;
  signal?: AbortSignal;
  onProgress?: (p: { entries: number; bytes: number }) => void;
}

export interface ExtractedEntry {
  /** Archive path, '/' separators, no leading './'. */
  path: string;
  /** Uncompressed bytes written. */
  size: number;
  /** Hex SHA-256 of the plaintext. */
  sha256: string;
  encryption: 'aes-128' | 'aes-192' | 'aes-256' | 'zipcrypto' | 'none';
}

export interface ExtractResult {
  entries: ExtractedEntry[];
  totalBytes: number;
}

const WRITE_CHUNK = 1024 * 1024;
const ENTRY_CONCURRENCY = 3;
/** How many encrypted entries prove the key before anything is created (false accepts: 2^-16 AES, 2^-8 ZipCrypto each). */
const KEY_PRECHECK_ENTRIES = 4;

async function openArchiveFile(zipPath: string): Promise<FileHandle> {
  try {
    return await open(zipPath, 'r');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT') throw new ProxyError('NOT_FOUND', zipPath, { cause: err });
    throw new ProxyError('ARCHIVE_NOT_ZIP', `cannot open ${zipPath}`, { cause: err });
  }
}

async function readStructure(fh: FileHandle, options: Pick<ExtractOptions, 'allowUnencrypted' | 'limits'>): Promise<CentralDirectory> {
  const cd = await readCentralDirectory(fh, { allowUnencrypted: options.allowUnencrypted, limits: options.limits });
  await readLocalHeaders(fh, cd);
  return cd;
}

/** Lists entries and checks the structural rules (names, duplicates, overlaps, limits, encryption) without extracting. */
export async function inspectArchive(
  zipPath: string,
  options: Pick<ExtractOptions, 'allowUnencrypted' | 'limits'>,
): Promise<{ entries: { path: string; compressedSize: number; size: number; encryption: ExtractedEntry['encryption'] }[] }> {
  const fh = await openArchiveFile(zipPath);
  try {
    const cd = await readStructure(fh, options);
    return {
      entries: cd.entries
        .filter((e) => !e.isDirectory)
        .map((e) => ({ path: e.path, compressedSize: e.compressedSize, size: e.uncompressedSize, encryption: e.encryption })),
    };
  } finally {
    await fh.close();
  }
}

/** Creates destDir if missing and refuses a non-empty one. */
async function prepareDestination(destDir: string): Promise<void> {
  await mkdir(destDir, { recursive: true, mode: 0o750 });
  const existing = await readdir(destDir);
  if (existing.length > 0) throw new ProxyError('ARCHIVE_DEST_NOT_EMPTY', destDir, { details: { destDir, entries: existing.length } });
}

/** Proves the key on the first few encrypted entries before the destination is touched. */
async function precheckKey(fh: FileHandle, files: readonly ZipEntryInfo[], password: string): Promise<void> {
  const encrypted = files.filter((e) => e.encryption !== 'none').slice(0, KEY_PRECHECK_ENTRIES);
  for (const e of encrypted) await prepareDecryption(fh, e, password);
}


interface EntryContext {
  readonly fh: FileHandle;
  readonly destDir: string;
  readonly password: string;
  readonly budget: ByteBudget;
  readonly durable: DurableWrites;
  readonly madeDirs: Set<string>;
  readonly signal: AbortSignal | undefined;
}

async function ensureParentDir(ctx: EntryContext, target: string): Promise<void> {
  const dir = dirname(target);
  if (ctx.madeDirs.has(dir)) return;
  await mkdir(dir, { recursive: true, mode: 0o750 });
  // The new directory and every new ancestor changed their parent's entries.
  for (let d = dir; d !== ctx.destDir && !ctx.madeDirs.has(d); d = dirname(d)) {
    ctx.madeDirs.add(d);
    ctx.durable.touchDirectory(dirname(d));
  }
}

async function extractEntry(ctx: EntryContext, e: ZipEntryInfo): Promise<ExtractedEntry> {
  ctx.signal?.throwIfAborted();
  const target = resolve(ctx.destDir, e.path);
  if (!target.startsWith(ctx.destDir + sep)) throw new ProxyError('ARCHIVE_PATH_TRAVERSAL', e.path, { details: { path: e.path } });
  // Key first: a wrong key is detected before the file exists.
  const prep = await prepareDecryption(ctx.fh, e, ctx.password);
  await ensureParentDir(ctx, target);
  ctx.durable.touchDirectory(dirname(target));
  const { source, transforms, aes } = decodingStages(ctx.fh, e, prep);
  const verifier = new PlaintextVerifier(
    { path: e.path, size: e.uncompressedSize, crc32: e.aes?.vendorVersion === 2 ? undefined : e.crc32 },
    ctx.budget,
  );
  // autoClose:false keeps the descriptor open after 'finish' so it can be fsynced (in the background) before closing.
  const ws = createWriteStream(target, { flags: 'wx', mode: 0o640, autoClose: false, highWaterMark: WRITE_CHUNK });
  let fd: number | undefined;
  ws.once('open', (opened: number) => {
    fd = opened;
  });
  try {
    await pipeline([source, ...transforms, verifier, ws], ctx.signal ? { signal: ctx.signal } : {});
  } catch (err) {
    // The failed pipeline destroyed `ws`, which closes its own descriptor: wait for that rather than closing it
    // again (a second close could hit a descriptor number already reused by another entry).
    if (!ws.destroyed) ws.destroy();
    if (!ws.closed) await new Promise<void>((done) => ws.once('close', () => done()));
    throw mapEntryError(aes ? await preferMacFailure(ctx.fh, prep, aes, err) : err, e.path);
  }
  if (fd === undefined) throw new ProxyError('INTERNAL', `${e.path}: write stream has no descriptor`);
  await ctx.durable.syncAndClose(fd);
  return { path: e.path, size: verifier.bytes, sha256: verifier.sha256(), encryption: e.encryption };
}

/**
 * Extracts every file entry of zipPath into destDir (created if missing, must be empty).
 * Verifies everything; on any problem throws ProxyError with the specific code (an abort rethrows the AbortError).
 * The caller removes destDir on error.
 */
export async function extractArchive(zipPath: string, destDir: string, options: ExtractOptions): Promise<ExtractResult> {
  const log = options.log?.child({ component: 'archive-extract' });
  const started = Date.now();
  const fh = await openArchiveFile(zipPath);
  const durable = new DurableWrites();
  try {
    options.signal?.throwIfAborted();
    const cd = await readStructure(fh, options);
    const files = cd.entries.filter((e) => !e.isDirectory);
    await precheckKey(fh, files, options.password);
    const dest = resolve(destDir);
    await prepareDestination(dest);
    durable.touchDirectory(dest);
    durable.touchDirectory(dirname(dest));
    // Entries are extracted ENTRY_CONCURRENCY at a time: hashing/decryption on the main thread overlaps with inflate
    // (thread pool) and I/O of the other entry. The first failure aborts the rest.
    const stop = new AbortController();
    const ctx: EntryContext = {
      fh,
      destDir: dest,
      password: options.password,
      budget: { used: 0, limit: options.limits.maxTotalBytes },
      durable,
      madeDirs: new Set([dest]),
      signal: options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal,
    };
    const entries: ExtractedEntry[] = new Array<ExtractedEntry>(files.length);
    let next = 0;
    let done = 0;
    let failure: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < files.length) {
        const index = next++;
        try {
          entries[index] = await extractEntry(ctx, files[index]!);
          done += 1;
          options.onProgress?.({ entries: done, bytes: ctx.budget.used });
        } catch (err) {
          if (failure === undefined) {
            failure = { error: err };
            stop.abort();
          }
        }
      }
    };
    await Promise.all(Array.from({ length: ENTRY_CONCURRENCY }, worker));
    if (failure !== undefined) throw failure.error;
    await durable.flush();
    log?.info({ zip: zipPath, entries: entries.length, bytes: ctx.budget.used, ms: Date.now() - started }, 'archive extracted');
    return { entries, totalBytes: ctx.budget.used };
  } catch (err) {
    await durable.abandon();
    const mapped = mapEntryError(err, zipPath);
    if (isProxyError(mapped)) log?.warn({ zip: zipPath, code: mapped.code, details: mapped.details }, 'archive refused');
    throw mapped;
  } finally {
    await fh.close();
  }
}
