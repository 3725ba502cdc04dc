import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, redactConfig } from '../../../proxy/config/load-config.js';
import { configLeaves } from '../../../proxy/config/walk-schema.js';
import { ProxyError } from '../../../proxy/errors.js';

const FP = 'SHA256:' + 'A'.repeat(43);
const minimal = `
siteId: site-a
sftp: { host: 127.0.0.1, username: vendor, privateKey: KEY, hostKeyFingerprint: "${FP}" }
archive: { key: "Secr3t-Key" }
mongodb: { uri: "mongodb://127.0.0.1:27017" }
vendor: { statusUrl: "http://127.0.0.1:9/retention/v1/status", signingSecret: s3cret }
`;

async function withFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-config-'));
  const path = join(dir, 'config.yaml');
  await writeFile(path, text, { mode: 0o600 });
  return path;
}

async function problemsOf(p: Promise<unknown>): Promise<string[]> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProxyError);
  expect((err as ProxyError).code).toBe('CONFIG_INVALID');
  return (err as ProxyError).details?.problems as string[];
}

describe('loadConfig', () => {
  it('applies defaults from the schema and freezes the result', async () => {
    const config = await loadConfig({ path: await withFile(minimal), env: {} });
    expect(config.sftp.port).toBe(22);
    expect(config.schedule.hourUtc).toBe(3);
    expect(config.staging.keepArchiveDays).toBe(0);
    expect(config.mongodb.database).toBe('retention');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.sftp)).toBe(true);
  });

  it('reports every problem in one CONFIG_INVALID error', async () => {
    const problems = await problemsOf(loadConfig({ path: await withFile('siteId: "bad id!"\nsftp: { port: 99999 }\nbogus: 1\n'), env: {} }));
    const text = problems.join('\n');
    expect(text).toMatch(/siteId/);
    expect(text).toMatch(/sftp\.port/);
    expect(text).toMatch(/sftp\.host: is required/);
    expect(text).toMatch(/archive\.key: is required/);
    expect(text).toMatch(/bogus: is not a known setting/);
    expect(problems.length).toBeGreaterThanOrEqual(5);
  });

  it('lets every key be overridden by a RETENTION_PROXY_* variable, with types coerced', async () => {
    const config = await loadConfig({
      path: await withFile(minimal),
      env: { RETENTION_PROXY_SFTP_PORT: '2222', RETENTION_PROXY_SCHEDULE_HOUR_UTC: '5', RETENTION_PROXY_ARCHIVE_ALLOW_UNENCRYPTED: 'true' },
    });
    expect(config.sftp.port).toBe(2222);
    expect(config.schedule.hourUtc).toBe(5);
    expect(config.archive.allowUnencrypted).toBe(true);
    expect(configLeaves().map((l) => l.env)).toContain('RETENTION_PROXY_SFTP_HOST_KEY_FINGERPRINT');
  });

  it('reads secrets from files, including systemd credentials by bare name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rp-cred-'));
    await writeFile(join(dir, 'archive-key'), 'From-File-9\n', { mode: 0o600 });
    await writeFile(join(dir, 'sftp-key'), 'PRIVATE KEY TEXT', { mode: 0o600 });
    const text = minimal.replace('archive: { key: "Secr3t-Key" }', 'archive: { keyFile: archive-key }');
    const config = await loadConfig({
      path: await withFile(text),
      env: { CREDENTIALS_DIRECTORY: dir, RETENTION_PROXY_SFTP_PRIVATE_KEY_FILE: join(dir, 'sftp-key') },
    });
    expect(config.archive.key).toBe('From-File-9');
    expect(config.sftp.privateKey).toBe('PRIVATE KEY TEXT');
  });

  it('names an unreadable secret file without failing on the first problem', async () => {
    const text = minimal.replace('archive: { key: "Secr3t-Key" }', 'archive: { keyFile: /nonexistent/key }');
    const problems = await problemsOf(loadConfig({ path: await withFile(text + 'siteId2: x\n'), env: {} }));
    expect(problems.join('\n')).toMatch(/archive\.keyFile: cannot read \/nonexistent\/key/);
    expect(problems.join('\n')).toMatch(/siteId2/);
  });

  it('fails with CONFIG_NOT_FOUND for an explicit path that does not exist', async () => {
    await expect(loadConfig({ path: '/nonexistent/config.yaml', env: {} })).rejects.toMatchObject({ code: 'CONFIG_NOT_FOUND' });
  });

  it('redacts every secret for printing', async () => {
    const config = await loadConfig({ path: await withFile(minimal), env: {} });
    const text = JSON.stringify(redactConfig(config));
    expect(text).not.toContain('Secr3t-Key');
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('"KEY"');
    expect(text).toContain('[redacted]');
  });
});
