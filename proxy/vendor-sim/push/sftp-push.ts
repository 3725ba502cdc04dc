import ssh2, { Client, type SFTPWrapper } from 'ssh2';
import { posix } from 'node:path';
import type { Logger } from 'pino';
import { ProxyError } from '../../errors.js';
import { fingerprintOf, fingerprintsEqual, isFingerprint } from '../../sftp/host-key.js';

/** The customer's SFTP server (its upload inbox), as the vendor's dashboard configures it. */
export interface PushTarget {
  host: string;
  port: number;
  username: string;
  /** The vendor's own private key (OpenSSH or PEM); its public key is the inbox account's only way in. */
  privateKey: string;
  /** The inbox's host key, pinned: 'SHA256:...'. */
  hostKeyFingerprint: string;
  /** Where archives go on the server (the inbox's upload directory, e.g. /upload inside the chroot). */
  remoteDir: string;
  readyTimeoutMs?: number;
}

const call = (what: string, fn: (cb: (err?: Error | null) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => {
    fn((err) => (err ? reject(new ProxyError('SFTP_TRANSFER_FAILED', `${what}: ${err.message}`, { cause: err })) : resolve()));
  });

function connect(target: PushTarget): Promise<{ client: Client; sftp: SFTPWrapper }> {
  if (!isFingerprint(target.hostKeyFingerprint)) return Promise.reject(new ProxyError('SFTP_HOST_KEY_NOT_PINNED', `push target ${target.host}:${target.port}`));
  const parsed = ssh2.utils.parseKey(target.privateKey);
  if (parsed instanceof Error) return Promise.reject(new ProxyError('SFTP_KEY_INVALID', parsed.message, { cause: parsed }));
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented = '';
    client.once('error', (err: Error & { level?: string }) => {
      client.destroy();
      if (presented && !fingerprintsEqual(presented, target.hostKeyFingerprint)) {
        reject(new ProxyError('SFTP_HOST_KEY_MISMATCH', `pinned ${target.hostKeyFingerprint}, server presented ${presented}`));
      } else if (err.level === 'client-authentication') reject(new ProxyError('SFTP_AUTH_FAILED', `user ${target.username}`, { cause: err }));
      else reject(new ProxyError('SFTP_CONNECT_FAILED', `${target.host}:${target.port}: ${err.message}`, { cause: err }));
    });
    client.once('ready', () => {
      client.sftp((err, sftp) => {
        if (err) {
          client.destroy();
          reject(new ProxyError('SFTP_CONNECT_FAILED', `SFTP subsystem: ${err.message}`, { cause: err }));
        } else resolve({ client, sftp });
      });
    });
    client.connect({
      host: target.host,
      port: target.port,
      username: target.username,
      privateKey: target.privateKey,
      readyTimeout: target.readyTimeoutMs ?? 20_000,
      hostVerifier: (key: Buffer) => {
        presented = fingerprintOf(key);
        return fingerprintsEqual(presented, target.hostKeyFingerprint);
      },
    });
  });
}

/**
 * Uploads one archive the way the vendor does: `<name>.uploading`, renamed to `<name>` when complete, then
 * `<name>.sha256` (sha256sum format: `<64 hex>  <name>\n`). An archive already there under its final name is replaced
 * (a retry after a failed attempt).
 */
export async function pushArchive(target: PushTarget, localPath: string, fileName: string, sha256: string, log?: Logger): Promise<void> {
  const { client, sftp } = await connect(target);
  const path = posix.join(target.remoteDir, fileName);
  const partial = `${path}.uploading`;
  try {
    await call(`upload ${partial}`, (cb) => sftp.fastPut(localPath, partial, cb));
    // posix-rename@openssh.com replaces an existing file; plain SFTP rename refuses to.
    await call(`rename ${partial}`, (cb) => sftp.ext_openssh_rename(partial, path, cb)).catch(async () => {
      await call(`rename ${partial}`, (cb) => sftp.rename(partial, path, cb));
    });
    await call(`write ${path}.sha256`, (cb) => sftp.writeFile(`${path}.sha256`, `${sha256}  ${fileName}\n`, cb));
    log?.info({ fileName, server: `${target.host}:${target.port}`, remoteDir: target.remoteDir }, 'archive pushed to the customer SFTP server');
  } catch (err) {
    await call('clean up', (cb) => sftp.unlink(partial, cb)).catch(() => undefined);
    throw err;
  } finally {
    client.end();
  }
}
