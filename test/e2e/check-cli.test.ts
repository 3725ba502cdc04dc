import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckLine } from '../../proxy/check/run-checks.js';
import { runCli } from '../helpers/cli.js';
import { startSim, writeProxyConfig, type ProxySetup, type SimHandle } from '../helpers/scenario.js';

/** `retention-proxy check --json` against the simulator and the test database, as an installer runs it. */
describe('retention-proxy check', () => {
  let h: SimHandle;
  let setup: ProxySetup;

  beforeAll(async () => {
    h = await startSim();
    setup = await writeProxyConfig(h, { siteId: 'e2e-check', dbName: `e2e_check_${Date.now().toString(36)}`, extra: 'portal:\n  host: "127.0.0.1"\n  port: 0\n' });
  });
  afterAll(async () => {
    await h?.sim.close();
    if (setup) await rm(setup.dir, { recursive: true, force: true });
  });

  /** Runs check with a copy of the config changed by `edit`; returns the exit code and the lines by name. */
  async function check(edit: (yaml: string) => string = (y) => y): Promise<{ code: number | null; lines: Map<string, CheckLine> }> {
    const path = join(setup.dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, edit(await readFile(setup.configPath, 'utf8')), { mode: 0o600 });
    const res = await runCli(['check', '--json', '--config', path], { timeoutMs: 60_000 });
    const lines = JSON.parse(res.stdout) as CheckLine[];
    return { code: res.code, lines: new Map(lines.map((l) => [l.name, l])) };
  }

  it('passes every line and exits 0 when the configuration is right', async () => {
    const { code, lines } = await check();
    expect([...lines.values()].filter((l) => l.status === 'FAIL')).toEqual([]);
    expect(code).toBe(0);
    for (const name of ['archive key', 'staging free disk', 'sftp reachable', 'sftp host key', 'sftp authentication', 'sftp remote directory', 'mongodb reachable', 'mongodb majority write', 'vendor status endpoint', 'portal https']) {
      expect(lines.get(name)?.status, name).toBe('PASS');
    }
  });

  it('a private key that is not one fails as such, without claiming the server was reached or its host key checked', async () => {
    const badKey = join(setup.dir, 'not-a-key');
    await writeFile(badKey, 'this is not an SSH private key\n', { mode: 0o600 });
    const { code, lines } = await check((y) => y.replace(/privateKeyFile: .*/, `privateKeyFile: ${badKey}`));
    expect(code).toBe(1);
    expect(lines.get('sftp private key')).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/^SFTP_KEY_INVALID: /) as unknown });
    expect(lines.has('sftp reachable')).toBe(false);
    expect(lines.has('sftp host key')).toBe(false);
    expect(lines.has('sftp authentication')).toBe(false);
    expect(lines.get('mongodb reachable')?.status).toBe('PASS'); // the other checks still run
  });

  it('a host key that does not match the pin: reachable PASS, host key FAIL, and authentication not claimed', async () => {
    const wrong = `SHA256:${'A'.repeat(43)}`;
    const { code, lines } = await check((y) => y.replace(/hostKeyFingerprint: .*/, `hostKeyFingerprint: "${wrong}"`));
    expect(code).toBe(1);
    expect(lines.get('sftp reachable')?.status).toBe('PASS');
    expect(lines.get('sftp host key')).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/^SFTP_HOST_KEY_MISMATCH: /) as unknown });
    expect(lines.has('sftp authentication')).toBe(false);
  });

  it('portal transport: plain HTTP off loopback FAILs (run refuses to start), allowed by allowPlainHttp it WARNs', async () => {
    const offLoopback = (y: string): string => y.replace('host: "127.0.0.1"', 'host: "0.0.0.0"');
    const refused = await check(offLoopback);
    expect(refused.code).toBe(1);
    expect(refused.lines.get('portal https')).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/allowPlainHttp/) as unknown });
    const allowed = await check((y) => offLoopback(y).replace('port: 0\n', 'port: 0\n  allowPlainHttp: true\n'));
    expect(allowed.lines.get('portal https')).toMatchObject({ status: 'WARN', detail: expect.stringMatching(/trustProxy/) as unknown });

    const path = join(setup.dir, 'config-plain.yaml');
    await writeFile(path, offLoopback(await readFile(setup.configPath, 'utf8')));
    const run = await runCli(['run', '--config', path], { timeoutMs: 60_000 });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CONFIG_INVALID');
    expect(run.stderr).toContain('allowPlainHttp');
  });
});
