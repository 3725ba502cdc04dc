import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = promisify(execFile);

/** Issue 11 item 11: tests leave nothing in the temporary folder, and write secrets readable by their owner only. */
describe('test hygiene', () => {
  it('runs each test file in a private temporary folder (mode 0711) of its own', async () => {
    const here = tmpdir();
    expect(here).toBe(process.env.RP_TEST_TMPDIR);
    expect(basename(here)).toMatch(/^rp-test-/);
    expect((await stat(here)).mode & 0o777).toBe(0o711);
  });

  it('leaves nothing behind in the temporary folder after a test file that writes secrets there', async () => {
    const outer = await mkdtemp(join(tmpdir(), 'rp-hygiene-'));
    try {
      // load-config.test.ts writes configurations and key files into os.tmpdir().
      await run('npx', ['vitest', 'run', '--project', 'unit', 'test/unit/config/load-config.test.ts'], {
        cwd: ROOT, env: { ...process.env, TMPDIR: outer, RP_TEST_TMPDIR: '' }, timeout: 120_000,
      });
      expect(await readdir(outer)).toEqual([]);
    } finally {
      await rm(outer, { recursive: true, force: true });
    }
  }, 150_000);

  it('writes every key, secret and password file in test/ with mode 0600', async () => {
    const offenders: string[] = [];
    for (const file of await readdir(join(ROOT, 'test'), { recursive: true })) {
      if (!file.endsWith('.ts')) continue;
      const text = await readFile(join(ROOT, 'test', file), 'utf8');
      // One writeFile(...) call: its target and options (no nested parentheses beyond one level).
      for (const m of text.matchAll(/writeFile\(((?:[^()]|\([^()]*\))*)\)/g)) {
        const call = m[1] ?? '';
        const target = firstArgument(call);
        if (!/key|secret|passw|passphrase|credential|config|weak|vault|\bpw\b/i.test(target) || /\.pub\b|authorized_keys/.test(target)) continue;
        if (!/mode: 0o600/.test(call)) offenders.push(`${relative(ROOT, join(ROOT, 'test', file))}: writeFile(${target.trim()}, ...)`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

/** The text of a call's first argument (up to the first comma outside brackets and quotes). */
function firstArgument(args: string): string {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const c = args[i] ?? '';
    if (quote) {
      if (c === quote && args[i - 1] !== '\\') quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) return args.slice(0, i);
  }
  return args;
}
