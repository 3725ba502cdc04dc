import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fingerprintOf, fingerprintsEqual } from '../../../proxy/sftp/host-key.js';

const run = promisify(execFile);

describe('fingerprintOf', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rp-hostkey-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) {
    it(`matches ssh-keygen -lf for a ${type} key`, async () => {
      const path = join(dir, `key_${type}`);
      await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', path]);
      const pub = await readFile(`${path}.pub`, 'utf8');
      const blob = Buffer.from(pub.split(' ')[1] ?? '', 'base64');
      const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`]);
      const expected = stdout.split(/\s+/)[1];
      expect(expected).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      expect(fingerprintOf(blob)).toBe(expected);
    });
  }
});

describe('fingerprintsEqual', () => {
  const fp = fingerprintOf(Buffer.from('some host key blob'));
  const other = fingerprintOf(Buffer.from('another host key blob'));

  it('accepts the same fingerprint with or without base64 padding and surrounding blanks', () => {
    expect(fingerprintsEqual(fp, fp)).toBe(true);
    expect(fingerprintsEqual(`${fp}=`, fp)).toBe(true);
    expect(fingerprintsEqual(`  ${fp}\n`, fp)).toBe(true);
  });

  it('rejects a different fingerprint', () => {
    expect(fingerprintsEqual(fp, other)).toBe(false);
  });

  it('rejects malformed values: empty, missing prefix, MD5 form, truncated', () => {
    expect(fingerprintsEqual('', fp)).toBe(false);
    expect(fingerprintsEqual(fp.slice('SHA256:'.length), fp)).toBe(false);
    expect(fingerprintsEqual('MD5:12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0', fp)).toBe(false);
    expect(fingerprintsEqual(fp.slice(0, -2), fp.slice(0, -2))).toBe(false);
  });
});
