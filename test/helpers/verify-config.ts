import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';

/**
 * A config.yaml for commands that only need the database (`verify`): the SFTP and vendor settings are valid
 * placeholders nobody connects to. Returns the directory (remove it after) and the config path.
 */
export async function databaseOnlyConfig(dbName: string): Promise<{ dir: string; configPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-verify-'));
  const secret = async (name: string, value: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, `${value}\n`, { mode: 0o600 });
    return path;
  };
  const configPath = join(dir, 'config.yaml');
  await writeFile(
    configPath,
    `siteId: verify-test
sftp:
  host: 127.0.0.1
  username: vendor
  privateKeyFile: ${await secret('ssh.key', 'placeholder, never used by verify')}
  hostKeyFingerprint: "SHA256:${'A'.repeat(43)}"
archive:
  keyFile: ${await secret('archive.key', 'Archive-Key-2026!')}
mongodb:
  uri: "${inject('mongoUri')}"
  database: ${dbName}
  writeConcernTimeoutMs: 10000
vendor:
  statusUrl: http://127.0.0.1:9/status
  signingSecretFile: ${await secret('signing.secret', 'placeholder-signing-secret')}
staging:
  dir: ${join(dir, 'staging')}
  minFreeBytes: 0
`,
    { mode: 0o600 },
  );
  return { dir, configPath };
}
