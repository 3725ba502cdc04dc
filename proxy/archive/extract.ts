/**
 * Public entry points of the archive layer: inspectArchive (structure only) and extractArchive (verify + write).
 * yauzl reads the container; decryption, inflate and verification run in our own stream pipeline (see docs/zip-reader.md).
 */
import { mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { ProxyError, isProxyError } from '../errors.js';
import { readCentralDirectory, readLocalHeaders, type CentralDirectory, type ZipEntryInfo } from './central-directory.js';
import { mapEntryError, prepareDecryption } from './entry-decoder.js';
import { createEntryRunner } from './entry-runner.js';
import { requireRoom, watchReserve, type DiskReserve } from '../util/free-space.js';
import { ByteBudget } from './plaintext-verifier.js';
import { mapBounded } from '../util/map-bounded.js';
import { MAX_SMALL_ENTRY_BYTES, SMALL_ENTRY_BYTES, isSmallEntry } from './small-entry.js';

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
  /** After each entry: entries and plaintext bytes done, and the totals the central directory declares. */
  onProgress?: (p: { entries: number; bytes: number; totalEntries: number; totalBytes: number }) => void;
  /** Worker threads extracting entries besides the calling thread (0-4). Default: 1 with two cores or more, for archives of 32 MiB and more. */
  threads?: number;
  /**
   * Entries at most this many bytes, stored and expanded, are read, authenticated and decoded in memory (one read, one
   * write); larger ones stream. Default 256 KiB, at most 1 MiB (small-entry.ts); 0 streams every entry.
   */
  inMemoryEntryBytes?: number;
  /**
   * Small entries (see inMemoryEntryBytes) that `accept` takes are returned in ExtractedEntry.data instead of written to
   * destDir, up to `maxBytes` in all, each counted as its declared expanded size (the in-memory path never lets an
   * entry grow past it) plus KEPT_ENTRY_OVERHEAD; the others are written as usual. Default: every entry is written.
   * The disk reserve is still checked against every entry's declared size (conservative).
   */
  keepInMemory?: { maxBytes: number; accept: (path: string) => boolean };
  /**
   * The staging disk's reserve: the declared expanded size plus the reserve must be free before anything is created
   * (DISK_FULL), and the reserve is watched while writing (DISK_FULL as soon as free space falls below it).
   */
  disk?: DiskReserve;
}

export interface ExtractedEntry {
  /** Archive path, '/' separators, no leading './'. */
  path: string;
  /** Uncompressed bytes written. */
  size: number;
  /** Unsigned CRC-32 of the plaintext, for later reads to check the staged file against (the import plan hashes it). */
  crc32: number;
  encryption: 'aes-128' | 'aes-192' | 'aes-256' | 'zipcrypto' | 'none';
  /** The verified plaintext when the entry was kept in memory (ExtractOptions.keepInMemory): then destDir has no file for it. */
  data?: Buffer;
}

export interface ExtractResult {
  entries: ExtractedEntry[];
  totalBytes: number;
}

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

interface MainContext {
  readonly destDir: string;
  readonly madeDirs: Set<string>;
}

/** Checks the target path. */
function targetOf(ctx: MainContext, e: ZipEntryInfo): string {
  const target = resolve(ctx.destDir, e.path);
  if (!target.startsWith(ctx.destDir + sep)) throw new ProxyError('ARCHIVE_PATH_TRAVERSAL', e.path, { details: { path: e.path } });
  return target;
}

/** Checks the target path and creates its directory. */
async function prepareTarget(ctx: MainContext, e: ZipEntryInfo): Promise<string> {
  const target = targetOf(ctx, e);
  const dir = dirname(target);
  if (ctx.madeDirs.has(dir)) return target;
  await mkdir(dir, { recursive: true, mode: 0o750 });
  for (let d = dir; d !== ctx.destDir && !ctx.madeDirs.has(d); d = dirname(d)) ctx.madeDirs.add(d);
  return target;
}

/**
 * What a kept entry costs besides its bytes (its buffer object and the larger entry record), charged against
 * keepInMemory.maxBytes with them, so that an archive of many tiny or empty files cannot keep more than that either.
 */
export const KEPT_ENTRY_OVERHEAD = 512;

/** Decides, entry by entry in the order they start, which are kept in memory: small, accepted, and within the bytes left. */
function keptInMemory(option: ExtractOptions['keepInMemory'], inMemoryBytes: number): (e: ZipEntryInfo) => boolean {
  const max = option?.maxBytes ?? 0;
  let left = Number.isFinite(max) && max > 0 ? max : 0; // NaN or Infinity keep nothing rather than everything
  return (e) => {
    const cost = e.uncompressedSize + KEPT_ENTRY_OVERHEAD;
    if (option === undefined || cost > left || !isSmallEntry(e, inMemoryBytes) || !option.accept(e.path)) return false;
    left -= cost;
    return true;
  };
}

/**
 * Extracts every file entry of zipPath into destDir (created if missing, must be empty).
 * Verifies everything; on any problem throws ProxyError with the specific code (an abort rethrows the AbortError).
 * The caller removes destDir on error.
 *
 * The files are scratch for the import that follows, so nothing is fsynced: the pipeline empties the directory before
 * every attempt and removes it after the import, and after a crash it extracts again from the downloaded archive,
 * which is the durable copy (fsynced before its job left "downloading"). Syncing them would only make the customer's
 * disk write every byte of a file that is deleted minutes later.
 */
export async function extractArchive(zipPath: string, destDir: string, options: ExtractOptions): Promise<ExtractResult> {
  const log = options.log?.child({ component: 'archive-extract' });
  const started = Date.now();
  const fh = await openArchiveFile(zipPath);
  try {
    options.signal?.throwIfAborted();
    const cd = await readStructure(fh, options);
    const files = cd.entries.filter((e) => !e.isDirectory);
    await precheckKey(fh, files, options.password);
    const dest = resolve(destDir);
    // Declared sizes are enforced while writing (plaintext-verifier stops an entry at its declared size), so this is
    // the most extraction can write.
    const declaredBytes = files.reduce((sum, e) => sum + e.uncompressedSize, 0);
    if (options.disk) await requireRoom(dest, declaredBytes, options.disk);
    await prepareDestination(dest);
    // Entries run in a pool of worker threads (see entry-runner.ts), several at a time; the first failure stops the rest.
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const budget = new ByteBudget(options.limits.maxTotalBytes);
    const inMemoryBytes = Math.max(0, Math.min(MAX_SMALL_ENTRY_BYTES, options.inMemoryEntryBytes ?? SMALL_ENTRY_BYTES));
    const runner = createEntryRunner({
      fd: fh.fd, reader: fh, password: options.password, budget, signal, threads: options.threads,
      payloadBytes: files.reduce((sum, e) => sum + e.compressedSize, 0),
      inMemoryBytes,
    });
    const keep = keptInMemory(options.keepInMemory, inMemoryBytes);
    const main: MainContext = { destDir: dest, madeDirs: new Set([dest]) };
    const entries: ExtractedEntry[] = new Array<ExtractedEntry>(files.length);
    let done = 0;
    let failure: { error: unknown } | undefined;
    const fail = (err: unknown): void => {
      if (failure !== undefined) return;
      failure = { error: err };
      stop.abort();
      runner.abort();
    };
    const stopWatching = options.disk ? watchReserve(dest, options.disk, fail) : undefined;
    try {
      // runner.slots entries in flight; after the first failure (here or the disk watch's) no entry starts.
      await mapBounded(files, runner.slots, async (e, index) => {
        try {
          signal.throwIfAborted();
          const kept = keep(e);
          const r = await runner.run(e, kept ? targetOf(main, e) : await prepareTarget(main, e), kept);
          // The runner decides "small" with the same limit; were they ever to disagree, a kept entry would have been
          // streamed into a directory never created, or a written one held outside the allowance.
          if ((r.data !== undefined) !== kept) throw new ProxyError('INTERNAL', `${e.path}: kept in memory ${r.data !== undefined}, expected ${kept}`);
          entries[index] = { path: e.path, size: r.size, crc32: r.crc32, encryption: e.encryption, ...(r.data ? { data: r.data } : {}) };
          done += 1;
          options.onProgress?.({ entries: done, bytes: budget.used, totalEntries: files.length, totalBytes: declaredBytes });
        } catch (err) {
          fail(err);
          throw err;
        }
      }).catch(() => undefined); // the first failure is in `failure`
      // Every entry has settled (written and closed, or failed and closed): no thread still writes when we return or throw.
      await runner.finish();
    } finally {
      stopWatching?.();
    }
    if (failure !== undefined) throw failure.error;
    const kept = entries.filter((e) => e.data !== undefined);
    log?.info(
      { zip: zipPath, entries: entries.length, bytes: budget.used, keptInMemory: kept.length, keptBytes: kept.reduce((sum, e) => sum + e.size, 0), threads: runner.threads, ms: Date.now() - started },
      'archive extracted',
    );
    return { entries, totalBytes: budget.used };
  } catch (err) {
    const mapped = mapEntryError(err, zipPath);
    if (isProxyError(mapped)) log?.warn({ zip: zipPath, code: mapped.code, details: mapped.details }, 'archive refused');
    throw mapped;
  } finally {
    await fh.close();
  }
}
