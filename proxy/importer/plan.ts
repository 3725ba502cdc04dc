import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { ProxyError } from '../errors.js';
import { collectionForEntry, entryKind, invalidCollectionReason, isKnownRecordFolder } from './entry-mapping.js';
import { readManifest, verifyManifest, type Manifest } from './manifest.js';
import { parseRecord } from './record-document.js';
import { invalid, readRecordTexts, type RecordFileDigest } from './record-reader.js';

export interface ImportEntry {
  /** Archive path, '/'-separated. */
  path: string;
  size: number;
  /** Hex sha256 of the extracted plaintext. */
  sha256: string;
}

export interface PlannedRecordFile {
  path: string;
  collection: string;
  records: number;
  size: number;
  sha256: string;
}

export interface ImportPlan {
  recordFiles: PlannedRecordFile[];
  binaries: ImportEntry[];
  manifest: Manifest | undefined;
  totalRecords: number;
}

/**
 * Phase one of an import, without any database access: reads and parses EVERY record file completely (streaming),
 * counts its records, checks each file against the size and sha256 recorded at extraction, and verifies
 * manifest.json when the archive has one. Anything wrong throws (RECORD_INVALID with file and line/element,
 * MANIFEST_INVALID, MANIFEST_MISMATCH, STAGING_FILE_CHANGED), so that a bad archive never gets half imported.
 */
export async function planImport(dir: string, entries: ImportEntry[], log?: Logger): Promise<ImportPlan> {
  const planLog = log?.child({ component: 'import-plan' });
  const recordFiles: PlannedRecordFile[] = [];
  const binaries: ImportEntry[] = [];
  let manifestEntry: ImportEntry | undefined;
  const seen = new Set<string>();

  for (const entry of entries) {
    if (seen.has(entry.path)) throw new ProxyError('ARCHIVE_DUPLICATE_ENTRY', entry.path, { details: { path: entry.path } });
    seen.add(entry.path);
    const kind = entryKind(entry.path);
    switch (kind) {
      case 'directory':
        break;
      case 'manifest':
        manifestEntry = entry;
        break;
      case 'binary':
        entryFile(dir, entry.path); // path check only
        binaries.push(entry);
        break;
      case 'records': {
        const collection = collectionForEntry(entry.path) ?? '';
        const reason = invalidCollectionReason(collection);
        if (reason) throw invalid(entry.path, `cannot be stored as collection '${collection}': ${reason}`, {});
        if (!isKnownRecordFolder(entry.path)) {
          planLog?.info({ entry: entry.path, collection }, 'record file outside the known folders; imported by the same naming rule');
        }
        const records = await countRecords(dir, entry);
        recordFiles.push({ path: entry.path, collection, records, size: entry.size, sha256: entry.sha256 });
        break;
      }
    }
  }

  let manifest: Manifest | undefined;
  if (manifestEntry) {
    manifest = await readManifest(entryFile(dir, manifestEntry.path));
    verifyManifest(manifest, { entries, recordCounts: new Map(recordFiles.map((f) => [f.path, f.records])) });
  }
  const totalRecords = recordFiles.reduce((sum, f) => sum + f.records, 0);
  planLog?.debug({ recordFiles: recordFiles.length, binaries: binaries.length, totalRecords, manifest: manifest !== undefined }, 'import planned');
  return { recordFiles, binaries, manifest, totalRecords };
}

async function countRecords(dir: string, entry: ImportEntry): Promise<number> {
  const digest: RecordFileDigest = { size: 0, sha256: '' };
  let count = 0;
  for await (const batch of readRecordTexts(entryFile(dir, entry.path), entry.path, digest)) {
    for (const r of batch.records) parseRecord(r.text, entry.path, batch.kind, r.n);
    count += batch.records.length;
  }
  checkDigest(entry, digest);
  return count;
}

/** Throws STAGING_FILE_CHANGED when the bytes read are not those recorded at extraction. */
export function checkDigest(entry: ImportEntry, digest: RecordFileDigest): void {
  if (digest.size !== entry.size || digest.sha256 !== entry.sha256.toLowerCase()) {
    throw new ProxyError('STAGING_FILE_CHANGED', entry.path, {
      details: { path: entry.path, expectedSize: entry.size, actualSize: digest.size },
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

