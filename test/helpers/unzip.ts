import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Tests a ZIP and extracts it with Info-ZIP's unzip (a real tool, not our reader); returns its files by path. */
export async function unzipAll(zip: Buffer): Promise<Map<string, Buffer>> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-unzip-'));
  try {
    await writeFile(join(dir, 'x.zip'), zip);
    await run('unzip', ['-t', '-qq', join(dir, 'x.zip')]);
    const { stdout } = await run('unzip', ['-Z1', join(dir, 'x.zip')]);
    await run('unzip', ['-qq', join(dir, 'x.zip'), '-d', join(dir, 'out')]);
    const out = new Map<string, Buffer>();
    for (const name of stdout.split('\n').filter(Boolean)) out.set(name, await readFile(join(dir, 'out', name)));
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
