import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/** Every command named in `retention-proxy --help` answers `--help` with its usage on stdout and exit status 0. */
const COMMANDS = ['run', 'sync', 'import', 'check', 'demo', 'user', 'retention', 'verify', 'digest', 'audit', 'vendor-sim'] as const;

describe('CLI: --help', () => {
  it('the top-level --help lists every command and exits 0', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    for (const c of COMMANDS) expect(res.stdout, c).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it('each command --help prints its usage and exits 0 (user --help exited 2)', async () => {
    const results = await Promise.all(COMMANDS.map(async (c) => ({ c, res: await runCli([c, '--help']) })));
    for (const { c, res } of results) {
      expect(res.code, `${c} --help: ${res.stderr}`).toBe(0);
      expect(res.stdout, c).toMatch(/^retention-proxy /m);
    }
  });
});
