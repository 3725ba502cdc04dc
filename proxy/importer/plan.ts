import { createReadStream } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Document } from 'mongodb';
import type { Logger } from 'pino';
import { ProxyError } from '../errors.js';
import { MANIFEST_PATH, collectionForEntry, entryKind, invalidCollectionReason, isKnownRecordFolder } from './entry-mapping.js';
import { FileDigest } from './file-digest.js';
import { ArchiveCallTimes } from './plan-call-times.js';
import { readManifest, verifyManifest, verifyManifestIdentity, type ArchiveIdentity, type Manifest } from './manifest.js';
import { parseRecord } from './record-document.js';
import { invalid, readRecordTexts } from './record-reader.js';
import { mapBounded } from '../util/map-bounded.js';

const READ_CHUNK = 1 << 20;
/** Binaries hashed at once: enough to keep libuv's four threads busy with opens and reads. */
const HASHES_IN_FLIGHT = 8;

/** A staged file as extraction reports it. */
export interface ImportEntry {
  /** Archive path, '/'-separated. */
  path: string;
  size: number;
  /** Unsigned CRC-32 of the extracted plaintext: later reads check the staged bytes against it. */
  crc32: number;
  /**
   * A media file's bytes, when extraction kept it in memory (ExtractOptions.keepInMemory): the directory has no file
   * for it, and every read (this plan's hash, the GridFS upload) takes these bytes instead. Only binaries are kept.
   */
  data?: Buffer;
}

/** A staged file the plan has read in full: its SHA-256 is the one checked against the manifest and stored. */
export interface PlannedFile extends ImportEntry {
  sha256: string;
}

export interface PlannedRecordFile extends PlannedFile {
  collection: string;
  records: number;
}

export interface ImportPlan {
  recordFiles: PlannedRecordFile[];
  binaries: PlannedFile[];
  manifest: Manifest | undefined;
  totalRecords: number;
  /** Start times of the archive's calls and conferences, for its voicemails and recordings (plan-call-times.ts). */
  callTimes?: ArchiveCallTimes;
}

export interface PlanOptions {
  /** The archive's file name as parsed: a manifest must name the same serviceId, jobId and createdAt. */
  archive?: ArchiveIdentity;
  /** Refuse an archive without manifest.json (MANIFEST_MISSING), before reading anything. */
  requireManifest?: boolean;
}

/**
 * Phase one of an import, without any database access: reads and parses EVERY record file completely (streaming),
 * counts its records, reads every binary (from memory when extraction kept it there), computes each file's SHA-256
 * (the pipeline's only SHA-256 pass over the plaintext, see file-digest.ts), checks each file against the size and CRC-32 recorded at extraction, and verifies
 * manifest.json when the archive has one (and its identity against the archive name when `options.archive` is given). Anything wrong throws (RECORD_INVALID with file and line/element,
 * MANIFEST_INVALID, MANIFEST_MISMATCH, STAGING_FILE_CHANGED), so that a bad archive never gets half imported.
 */
export async function planImport(dir: string, entries: ImportEntry[], log?: Logger, options: PlanOptions = {}): Promise<ImportPlan> {
  const planLog = log?.child({ component: 'import-plan' });
  if (options.requireManifest && !entries.some((e) => entryKind(e.path) === 'manifest')) {
    throw new ProxyError('MANIFEST_MISSING', `${MANIFEST_PATH} is not in the archive and archive.requireManifest is true`, { details: { path: MANIFEST_PATH } });
  }
  const recordFiles: PlannedRecordFile[] = [];
  const binaries: PlannedFile[] = [];
  let manifestEntry: ImportEntry | undefined;
  const seen = new Set<string>();
  const callTimes = new ArchiveCallTimes();
  const binaryEntries: ImportEntry[] = [];

  for (const entry of entries) {
    if (seen.has(entry.path)) throw new ProxyError('ARCHIVE_DUPLICATE_ENTRY', entry.path, { details: { path: entry.path } });
    seen.add(entry.path);
    const kind = entryKind(entry.path);
    if (entry.data !== undefined && kind !== 'binary') throw new ProxyError('INTERNAL', `${entry.path}: only media files are read from memory`);
    switch (kind) {
      case 'directory':
        break;
      case 'manifest':
        manifestEntry = entry;
        break;
      case 'binary':
        binaryEntries.push(entry);
        break;
      case 'records': {
        const collection = collectionForEntry(entry.path) ?? '';
        const reason = invalidCollectionReason(collection);
        if (reason) throw invalid(entry.path, `cannot be stored as collection '${collection}': ${reason}`, {});
        if (!isKnownRecordFolder(entry.path)) {
          planLog?.info({ entry: entry.path, collection }, 'record file outside the known folders; imported by the same naming rule');
        }
        const { records, sha256 } = await countRecords(dir, entry, (doc) => callTimes.observe(collection, doc));
        recordFiles.push({ ...entry, collection, records, sha256 });
        break;
      }
    }
  }

  // Binaries are read several at a time: a day holds thousands of small ones, each an open, a read and a close.
  for (const b of await mapBounded(binaryEntries, HASHES_IN_FLIGHT, async (entry) => ({ ...entry, sha256: await hashFile(dir, entry) }))) binaries.push(b);

  let manifest: Manifest | undefined;
  if (manifestEntry) {
    manifest = await readManifest(entryFile(dir, manifestEntry.path));
    if (options.archive) verifyManifestIdentity(manifest, options.archive);
    verifyManifest(manifest, { entries: [...recordFiles, ...binaries], recordCounts: new Map(recordFiles.map((f) => [f.path, f.records])) });
  }
  const totalRecords = recordFiles.reduce((sum, f) => sum + f.records, 0);
  planLog?.debug({ recordFiles: recordFiles.length, binaries: binaries.length, totalRecords, manifest: manifest !== undefined }, 'import planned');
  return { recordFiles, binaries, manifest, totalRecords, callTimes };
}

async function countRecords(dir: string, entry: ImportEntry, observe: (doc: Document) => void): Promise<{ records: number; sha256: string }> {
  const digest = new FileDigest({ sha256: true });
  let records = 0;
  for await (const batch of readRecordTexts(entryFile(dir, entry.path), entry.path, digest)) {
    for (const r of batch.records) observe(parseRecord(r.text, entry.path, batch.kind, r.n));
    records += batch.records.length;
  }
  checkDigest(entry, digest);
  return { records, sha256: digest.sha256() };
}

async function hashFile(dir: string, entry: ImportEntry): Promise<string> {
  const digest = new FileDigest({ sha256: true });
  if (entry.data !== undefined) {
    digest.update(entry.data);
    checkDigest(entry, digest);
    return digest.sha256();
  }
  // A small file in one read (and one for its end) rather than a 1 MiB buffer each.
  const stream = createReadStream(entryFile(dir, entry.path), { highWaterMark: Math.min(READ_CHUNK, entry.size + 1) });
  for await (const chunk of stream) {
    digest.update(chunk as Buffer);
    if (digest.size > entry.size) break; // grown since extraction: no need to read the rest (checkDigest refuses it)
  }
  checkDigest(entry, digest);
  return digest.sha256();
}

/** Throws STAGING_FILE_CHANGED when the bytes read are not those recorded at extraction (size and CRC-32). */
export function checkDigest(entry: ImportEntry, digest: FileDigest): void {
  if (digest.size !== entry.size || digest.crc32 !== entry.crc32 >>> 0) {
    throw new ProxyError('STAGING_FILE_CHANGED', entry.path, {
      // inMemory: the bytes were never on disk (kept by extraction), so the disk is not the suspect.
      details: { path: entry.path, expectedSize: entry.size, actualSize: digest.size, ...(entry.data !== undefined ? { inMemory: true } : {}) },
    });
  }
}

/** Absolute path of an entry inside the extraction directory; refuses any path that would leave it. */
export function entryFile(dir: string, path: string): string {
  const root = resolve(dir);
  const file = resolve(root, ...path.split('/'));
  const rel = relative(root, file);
  if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel) || path.includes('\0')) {
    throw new ProxyError('ARCHIVE_PATH_TRAVERSAL', path, { details: { path } });
  }
  return file;
}

