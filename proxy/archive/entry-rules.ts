/**
 * Structural safety rules for ZIP entries: names (zip slip), symlinks, duplicates, overlapping data ranges.
 * Pure functions; each violation throws ProxyError with its own code.
 */
import { ProxyError } from '../errors.js';
import { S_IFLNK, S_IFMT } from './zip-format.js';

export interface NormalizedName {
  /** '/'-separated, no leading './', no empty or '.' segments; '' only for a root directory entry. */
  readonly path: string;
  readonly isDirectory: boolean;
}

/**
 * Normalizes an entry name and refuses anything that could leave the extraction directory: NUL, absolute paths,
 * drive letters, UNC prefixes, '..' segments (backslashes count as separators, so `..\\x` and `C:\\x` are caught).
 */
export function normalizeEntryName(raw: string): NormalizedName {
  if (raw.includes('\0')) throw new ProxyError('ARCHIVE_PATH_TRAVERSAL', 'NUL in entry name', { details: { name: raw.replace(/\0/g, '\\0') } });
  const name = raw.replace(/\\/g, '/');
  if (name.startsWith('/')) throw new ProxyError('ARCHIVE_PATH_TRAVERSAL', 'absolute entry name', { details: { name: raw } });
  if (/^[A-Za-z]:/.test(name)) throw new ProxyError('ARCHIVE_PATH_TRAVERSAL', 'drive letter in entry name', { details: { name: raw } });
  const isDirectory = name.endsWith('/');
  const parts: string[] = [];
  for (const seg of name.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw new ProxyError('ARCHIVE_PATH_TRAVERSAL', "'..' in entry name", { details: { name: raw } });
    parts.push(seg);
  }
  const path = parts.join('/');
  if (path === '' && !isDirectory) throw new ProxyError('ARCHIVE_PATH_TRAVERSAL', 'empty entry name', { details: { name: raw } });
  return { path, isDirectory };
}

/** True when the Unix mode in the external attributes says symbolic link (whatever the "made by" host claims). */
export function isSymlinkAttributes(externalFileAttributes: number): boolean {
  return ((externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK;
}

/**
 * Tracks names: the same path twice, or a file whose path is also a directory (prefix) of another entry. Names are
 * compared in Unicode normalization form C: `café` written precomposed and decomposed (as macOS writes it) look the
 * same to every reader and are one file on some file systems, so two entries that differ only so are duplicates.
 */
export class NameRegistry {
  private readonly files = new Set<string>();
  private readonly explicitDirs = new Set<string>();
  private readonly impliedDirs = new Set<string>();

  add(name: NormalizedName): void {
    const { isDirectory } = name;
    const path = name.path.normalize('NFC');
    if (path === '') return;
    if (isDirectory) {
      if (this.explicitDirs.has(path) || this.files.has(path)) throw duplicate(path);
      this.explicitDirs.add(path);
    } else {
      if (this.files.has(path) || this.explicitDirs.has(path) || this.impliedDirs.has(path)) throw duplicate(path);
      this.files.add(path);
    }
    // Every parent is implicitly a directory: it must not be a file.
    let slash = path.indexOf('/');
    while (slash !== -1) {
      const parent = path.slice(0, slash);
      if (this.files.has(parent)) throw duplicate(parent);
      this.impliedDirs.add(parent);
      slash = path.indexOf('/', slash + 1);
    }
  }
}

function duplicate(path: string): ProxyError {
  return new ProxyError('ARCHIVE_DUPLICATE_ENTRY', path, { details: { path } });
}

export interface EntryRange {
  readonly name: string;
  /** Offset of the local file header. */
  readonly start: number;
  /** End of the entry's data: local header + name + extra + compressed size. */
  readonly end: number;
}

/** Refuses intersecting entry ranges (incl. two central entries pointing at one local header) and data that runs into the central directory. */
export function checkNoOverlap(ranges: readonly EntryRange[], centralDirectoryOffset: number): void {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let prev: EntryRange | undefined;
  for (const r of sorted) {
    if (prev && r.start < prev.end) {
      throw new ProxyError('ARCHIVE_OVERLAPPING_ENTRIES', `${prev.name} and ${r.name}`, { details: { first: prev.name, second: r.name } });
    }
    if (r.end > centralDirectoryOffset) {
      throw new ProxyError('ARCHIVE_OVERLAPPING_ENTRIES', `${r.name} runs into the central directory`, { details: { entry: r.name } });
    }
    prev = r;
  }
}
