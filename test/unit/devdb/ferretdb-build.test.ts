import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ferretdbBuild } from '../../../proxy/devdb/ferretdb-server.js';

describe('ferretdbBuild', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rp-ferretdb-build-'));
    await writeFile(join(dir, 'ferretdb'), '', { mode: 0o700 });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the fix level install-ferretdb.sh wrote beside the binary', async () => {
    await writeFile(join(dir, 'patch-level'), 'sqlite-id-index-1\n');
    expect(await ferretdbBuild(join(dir, 'ferretdb'))).toBe('sqlite-id-index-1');
  });

  it('looks beside the file a symlink points to (a ferretdb on PATH linked to the built one)', async () => {
    await writeFile(join(dir, 'patch-level'), 'sqlite-id-index-1\n');
    await mkdir(join(dir, 'bin'));
    await symlink(join(dir, 'ferretdb'), join(dir, 'bin', 'ferretdb'));
    expect(await ferretdbBuild(join(dir, 'bin', 'ferretdb'))).toBe('sqlite-id-index-1');
  });

  it('calls a binary with no patch-level file, or one that is not a level name, unstamped', async () => {
    expect(await ferretdbBuild(join(dir, 'ferretdb'))).toBe('unstamped');
    await writeFile(join(dir, 'patch-level'), 'two words\n');
    expect(await ferretdbBuild(join(dir, 'ferretdb'))).toBe('unstamped');
  });
});
