import { describe, it, expect } from 'vitest';
import { stableFiles } from '../../../proxy/sftp/stable-listing.js';

describe('stableFiles', () => {
  const a = { name: 'a.zip', size: 100, mtimeMs: 1_000 };
  const b = { name: 'b.zip', size: 200, mtimeMs: 2_000 };

  it('keeps files whose size and mtime did not change', () => {
    expect(stableFiles([a, b], [b, a])).toEqual([b, a]);
  });

  it('drops a file that grew or was touched between the listings', () => {
    expect(stableFiles([a, b], [{ ...a, size: 150 }, b])).toEqual([b]);
    expect(stableFiles([a, b], [a, { ...b, mtimeMs: 3_000 }])).toEqual([a]);
  });

  it('drops files that appeared only in the second listing or vanished from it', () => {
    expect(stableFiles([a], [a, b])).toEqual([a]);
    expect(stableFiles([a, b], [a])).toEqual([a]);
  });

  it('drops empty files even when unchanged', () => {
    const empty = { name: 'empty.zip', size: 0, mtimeMs: 5_000 };
    expect(stableFiles([empty, a], [empty, a])).toEqual([a]);
  });

  it('returns nothing for empty listings', () => {
    expect(stableFiles([], [])).toEqual([]);
  });
});
