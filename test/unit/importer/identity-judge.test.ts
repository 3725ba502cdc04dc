import { describe, expect, it } from 'vitest';
import { judgeVersions } from '../../../proxy/importer/identity.js';

const v = (id: string, key: string, at: number, archive: string, flags: { archived?: boolean; superseded?: boolean } = {}) =>
  ({ _id: id, key, at, archive, archived: flags.archived ?? false, superseded: flags.superseded ?? false });

/** Which stored version of a person or room is current (proxy/importer/identity.ts), whatever order they are read in. */
describe('judging versions of one business id', () => {
  it('the newest archive time wins, then the archive name, then the _id; only changes are written', () => {
    const versions = [v('a', 'p', 1, 'x'), v('b', 'p', 3, 'x', { superseded: true }), v('c', 'p', 2, 'x')];
    expect(judgeVersions(versions)).toEqual({ supersede: ['c', 'a'], current: ['b'] });
    expect(judgeVersions([...versions].reverse())).toEqual({ supersede: ['c', 'a'], current: ['b'] });
    // Same time: the archive name that sorts last; same archive: the greater _id. Already right: nothing to write.
    expect(judgeVersions([v('a', 'p', 5, 'backup_1'), v('b', 'p', 5, 'backup_2')])).toEqual({ supersede: ['a'], current: [] });
    expect(judgeVersions([v('b', 'p', 5, 'z'), v('a', 'p', 5, 'z', { superseded: true })])).toEqual({ supersede: [], current: [] });
  });

  it('a version retention archived does not count; when every version is archived the newest stays unmarked', () => {
    expect(judgeVersions([v('new', 'p', 3, 'x', { archived: true }), v('old', 'p', 1, 'x', { superseded: true })])).toEqual({ supersede: ['new'], current: ['old'] });
    expect(judgeVersions([v('new', 'p', 3, 'x', { archived: true }), v('old', 'p', 1, 'x', { archived: true })])).toEqual({ supersede: ['old'], current: [] });
  });

  it('judges each business id on its own', () => {
    expect(judgeVersions([v('a1', 'a', 1, 'x'), v('b1', 'b', 1, 'x'), v('a2', 'a', 2, 'x')])).toEqual({ supersede: ['a1'], current: [] });
  });
});
