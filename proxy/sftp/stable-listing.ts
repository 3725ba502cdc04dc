import type { RemoteFile } from './remote-ops.js';

/** Given two listings taken `settle` apart, the files whose size and mtime did not change and are non-empty. */
export function stableFiles(first: RemoteFile[], second: RemoteFile[]): RemoteFile[] {
  const before = new Map<string, RemoteFile>();
  for (const file of first) before.set(file.name, file);
  return second.filter((file) => {
    const earlier = before.get(file.name);
    return earlier !== undefined && file.size > 0 && earlier.size === file.size && earlier.mtimeMs === file.mtimeMs;
  });
}
