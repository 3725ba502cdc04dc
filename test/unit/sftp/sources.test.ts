import { describe, expect, it } from 'vitest';
import { configFromObject } from '../../../proxy/config/load-config.js';
import { vendorSimCommand } from '../../../proxy/cli/commands/vendor-sim.js';
import { copyKeyOf, sftpSources } from '../../../proxy/sftp/sources.js';

const FP = (c: string): string => `SHA256:${c.repeat(43)}`;

function config(sftp: Record<string, unknown>): ReturnType<typeof configFromObject> {
  return configFromObject({
    siteId: 's',
    sftp: { host: '127.0.0.1', username: 'rp-collect', privateKey: 'k', hostKeyFingerprint: FP('A'), remoteDir: '/upload', ...sftp },
    archive: { key: 'Key-12345' },
    mongodb: { uri: 'mongodb://127.0.0.1' },
    vendor: { statusUrl: 'http://127.0.0.1/', signingSecret: 'x' },
  });
}

describe('SFTP sources (sftp.host and sftp.peers)', () => {
  it('defaults to no peers and no removal, and fills in a peer\'s port', () => {
    expect(config({}).sftp.peers).toEqual([]);
    expect(config({}).sftp.deleteAfterDownloaded).toBe(false);
    expect(config({ peers: [{ host: '10.0.0.12', hostKeyFingerprint: FP('B') }] }).sftp.peers).toEqual([{ host: '10.0.0.12', port: 22, hostKeyFingerprint: FP('B') }]);
  });

  it('refuses a peer without a pinned host key (CONFIG_INVALID)', () => {
    expect(() => config({ peers: [{ host: '10.0.0.12' }] })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
  });

  it('refuses two servers with the same host key (cloned VMs), padding ignored, instead of merging them (CONFIG_INVALID)', () => {
    const refused = (peers: unknown[]): unknown => {
      try {
        config({ peers });
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const err = refused([{ host: '10.0.0.12', hostKeyFingerprint: `${FP('A')}=` }]);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((err as Error).message).toMatch(/sftp\.peers\.0\.hostKeyFingerprint: the same host key as sftp\.hostKeyFingerprint.*peers must be other servers with their own host keys/);
    expect(refused([{ host: '10.0.0.12', hostKeyFingerprint: FP('B') }, { host: '10.0.0.13', hostKeyFingerprint: FP('B') }])).toMatchObject({
      code: 'CONFIG_INVALID', message: expect.stringContaining('sftp.peers.1.hostKeyFingerprint: the same host key as sftp.peers.0.hostKeyFingerprint') as string,
    });
  });

  it('lists the primary first and identifies servers by host key', () => {
    const sources = sftpSources(config({ peers: [{ host: '10.0.0.12', port: 2222, hostKeyFingerprint: `${FP('B')}=` }] }));
    expect(sources.map((s) => [s.id, s.label, s.primary])).toEqual([[FP('A'), '127.0.0.1:22', true], [FP('B'), '10.0.0.12:2222', false]]);
    // The same credentials for every server; each its own pin.
    expect(sources[1]?.target).toMatchObject({ username: 'rp-collect', privateKey: 'k', hostKeyFingerprint: `${FP('B')}=`, port: 2222 });
  });

  it('gives each server a field name without dots or $, the same however the fingerprint is padded', () => {
    const key = copyKeyOf(FP('B'));
    expect(key).toMatch(/^h[0-9a-f]{64}$/);
    expect(copyKeyOf(`${FP('B')}=`)).toBe(key);
    expect(copyKeyOf(FP('C'))).not.toBe(key);
  });
});

describe('vendor-sim push flags', () => {
  const usage = async (args: string[]): Promise<{ code: number; err: string }> => {
    let err = '';
    const code = await vendorSimCommand(['--data-dir', '/nonexistent', '--authorized-key', '/nonexistent', '--archive-key', 'K', '--signing-secret', 'S', ...args], { out: () => undefined, err: (s: string) => (err += s) }, new AbortController().signal);
    return { code, err };
  };
  it('refuses incomplete or malformed push settings before starting anything (exit 2)', async () => {
    expect(await usage(['--push-to', '10.0.0.11'])).toMatchObject({ code: 2, err: expect.stringContaining('--push-to must be HOST:PORT') as string });
    expect(await usage(['--push-to', '10.0.0.11:22'])).toMatchObject({ code: 2, err: expect.stringContaining('--push-key and --push-host-key') as string });
    expect(await usage(['--push-to', '10.0.0.11:22', '--push-key', 'k', '--push-host-key', 'nope'])).toMatchObject({ code: 2, err: expect.stringContaining('--push-host-key must be') as string });
    expect(await usage(['--push-dir', '/upload'])).toMatchObject({ code: 2, err: expect.stringContaining('need --push-to') as string });
  });
});
