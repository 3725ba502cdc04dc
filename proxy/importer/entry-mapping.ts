/**
 * Where each archive entry is stored. Customers query these collections directly, so this mapping is part of the
 * product's contract (docs/archive-format.md):
 * - `manifest.json` at the top level: read, verified, not stored.
 * - every entry under `data-retention/` and every entry not ending in `.json`: a file in the GridFS bucket `media`.
 * - any other `*.json` entry is a record file: `<folder>/<name>.json` -> collection `<folder>.<name>`
 *   (deeper paths: every '/' becomes '.', the `.json` suffix is dropped).
 */

export const MEDIA_BUCKET = 'media';
/** `media.uploads`: markers of GridFS uploads under way (media-writer.ts). */
export const MEDIA_UPLOADS = 'uploads';
export const MANIFEST_PATH = 'manifest.json';
export const BINARY_PREFIX = 'data-retention/';
/** Folders the vendor's archives are known to contain; record files elsewhere are still imported, and logged. */
export const KNOWN_RECORD_FOLDERS: readonly string[] = ['lc-data-server', 'history', 'file-management', 'dynamic-phonebook'];

const JSON_SUFFIX = '.json';

export type EntryKind = 'manifest' | 'records' | 'binary' | 'directory';

export function entryKind(path: string): EntryKind {
  if (path.endsWith('/')) return 'directory';
  if (path === MANIFEST_PATH) return 'manifest';
  if (path.startsWith(BINARY_PREFIX)) return 'binary';
  return path.toLowerCase().endsWith(JSON_SUFFIX) && path.length > JSON_SUFFIX.length ? 'records' : 'binary';
}

/** The collection a record file is imported into; undefined for binaries, directories and the manifest. */
export function collectionForEntry(path: string): string | undefined {
  if (entryKind(path) !== 'records') return undefined;
  return path.slice(0, -JSON_SUFFIX.length).split('/').join('.');
}

/** Why MongoDB would refuse this collection name, or undefined when it is fine. */
export function invalidCollectionReason(name: string): string | undefined {
  if (name.length === 0) return 'empty collection name';
  if (name.includes('$')) return "collection names cannot contain '$'";
  if (name.includes('\0')) return 'collection names cannot contain NUL';
  if (name.startsWith('.') || name.endsWith('.') || name.includes('..')) return 'empty path segment';
  if (name.startsWith('system.')) return "collection names cannot start with 'system.'";
  if ([`${MEDIA_BUCKET}.files`, `${MEDIA_BUCKET}.chunks`, `${MEDIA_BUCKET}.${MEDIA_UPLOADS}`].includes(name)) return 'reserved for the media bucket';
  return undefined;
}

/** True when a record file lies in one of the known vendor folders. */
export function isKnownRecordFolder(path: string): boolean {
  const slash = path.indexOf('/');
  return slash > 0 && KNOWN_RECORD_FOLDERS.includes(path.slice(0, slash));
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  pdf: 'application/pdf',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  m4a: 'audio/mp4',
  mp4: 'video/mp4',
  webm: 'video/webm',
  txt: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
};

/** Content type guessed from the file name's extension (case-insensitive). */
export function contentTypeFor(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return 'application/octet-stream';
  return CONTENT_TYPES[name.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}
