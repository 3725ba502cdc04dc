import ssh2, { Client, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import type { Logger } from 'pino';
import { ProxyError } from '../errors.js';
import { fingerprintOf, fingerprintsEqual, isFingerprint } from './host-key.js';
import { downloadFile, type DownloadOptions, type DownloadResult } from './download.js';
import { listRegularFiles, readSmallRemoteFile, removeRemoteFile, statRegularFile, type RemoteFile } from './remote-ops.js';

export type { RemoteFile } from './remote-ops.js';
export type { DownloadOptions, DownloadResult } from './download.js';

export interface SftpTarget {
  host: string;
  port: number;
  username: string;
  privateKey: string | Buffer;
  passphrase?: string;
  /** REQUIRED: 'SHA256:...'; empty -> SFTP_HOST_KEY_NOT_PINNED, no connection attempt. */
  hostKeyFingerprint: string;
  /** Handshake + authentication + SFTP subsystem start; default 20000. */
  readyTimeoutMs?: number;
  /** SSH keepalive; 3 unanswered keepalives close the connection. Default 10000. */
  keepaliveIntervalMs?: number;
  /** Optional override (benchmarks pin one cipher for both sides). */
  algorithms?: { cipher?: string[] };
}

export interface SftpSession {
  /** Regular files of `dir` (directories, symlinks and specials are left out). SFTP_LIST_FAILED on error. */
  list(dir: string): Promise<RemoteFile[]>;
  /** The regular file at `path` (lstat: a symlink is not a regular file); undefined when missing. */
  stat(path: string): Promise<RemoteFile | undefined>;
  /** Whole content of a small file (e.g. a published `<name>.sha256`); undefined when missing. */
  readSmallFile(path: string, maxBytes: number): Promise<Buffer | undefined>;
  download(options: DownloadOptions): Promise<DownloadResult>;
  /** Removes a file: true when removed, false when already gone; SFTP_REMOVE_FAILED otherwise. */
  remove(path: string): Promise<boolean>;
  close(): Promise<void>;
  /** What the server presented. */
  readonly hostKeyFingerprint: string;
  /** The server's max read length (limits@openssh.com) if it told us: the default and ceiling of chunkSize. */
  readonly maxReadLen: number | undefined;
}

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const DEFAULT_KEEPALIVE_MS = 10_000;
const CLOSE_WAIT_MS = 5_000;

function levelOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'level' in err) {
    const level = err.level;
    return typeof level === 'string' ? level : undefined;
  }
  return undefined;
}

function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
  }
  return undefined;
}

/** ssh2 learns the server's max read length from the limits@openssh.com extension; it has no public accessor. */
function maxReadLenOf(sftp: SFTPWrapper): number | undefined {
  const value = (sftp as unknown as { _maxReadLen?: unknown })._maxReadLen;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

function buildConfig(target: SftpTarget, onHostKey: (key: Buffer) => boolean): ConnectConfig {
  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    username: target.username,
    privateKey: target.privateKey,
    readyTimeout: target.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    keepaliveInterval: target.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_MS,
    keepaliveCountMax: 3,
    hostVerifier: onHostKey,
  };
  if (target.passphrase !== undefined) config.passphrase = target.passphrase;
  if (target.algorithms?.cipher) {
    config.algorithms = { cipher: target.algorithms.cipher as NonNullable<ConnectConfig['algorithms']>['cipher'] };
  }
  return config;
}

/**
 * Connects with host-key pinning (ssh2 `hostVerifier`; mismatch -> SFTP_HOST_KEY_MISMATCH, and the error says both
 * fingerprints), key auth (failure -> SFTP_AUTH_FAILED), other failures -> SFTP_CONNECT_FAILED / SFTP_TIMEOUT.
 * Local configuration problems fail before any connection: no pin (SFTP_HOST_KEY_NOT_PINNED), a private key that
 * cannot be parsed or decrypted (SFTP_KEY_INVALID).
 */
export async function openSftp(target: SftpTarget, log: Logger): Promise<SftpSession> {
  const pin = target.hostKeyFingerprint.trim();
  if (pin === '') throw new ProxyError('SFTP_HOST_KEY_NOT_PINNED', `no fingerprint for ${target.host}:${target.port}`);
  if (!isFingerprint(pin)) {
    throw new ProxyError('SFTP_HOST_KEY_NOT_PINNED', 'the configured fingerprint is not of the form SHA256:<base64>');
  }
  const parsed = ssh2.utils.parseKey(target.privateKey, target.passphrase);
  if (parsed instanceof Error) throw new ProxyError('SFTP_KEY_INVALID', parsed.message, { cause: parsed });
  const slog = log.child({ component: 'sftp', host: target.host, port: target.port });
  const client = new Client();
  let presented = '';
  const { sftp } = await new Promise<{ sftp: SFTPWrapper }>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const fail = (err: ProxyError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.removeAllListeners('ready');
      client.on('error', () => undefined); // late errors of the dying connection must not crash the process
      client.destroy();
      reject(err);
    };
    client.on('error', (err: Error) => {
      const level = levelOf(err);
      if (presented !== '' && !fingerprintsEqual(presented, pin)) {
        fail(new ProxyError('SFTP_HOST_KEY_MISMATCH', `pinned ${pin}, server presented ${presented}`, {
          cause: err,
          details: { expected: pin, presented },
        }));
      } else if (level === 'client-authentication') {
        fail(new ProxyError('SFTP_AUTH_FAILED', `user ${target.username}`, { cause: err }));
      } else if (level === 'client-timeout') {
        fail(new ProxyError('SFTP_TIMEOUT', `connecting to ${target.host}:${target.port}`, { cause: err }));
      } else {
        fail(new ProxyError('SFTP_CONNECT_FAILED', `${target.host}:${target.port}: ${err.message}`, {
          cause: err,
          details: { code: codeOf(err), level },
        }));
      }
    });
    client.on('close', () => fail(new ProxyError('SFTP_CONNECT_FAILED', 'connection closed during setup')));
    client.on('ready', () => {
      // readyTimeout covers handshake and auth; the SFTP subsystem start gets the same budget again.
      timer = setTimeout(
        () => fail(new ProxyError('SFTP_TIMEOUT', 'starting the SFTP subsystem')),
        target.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      );
      client.sftp((err, wrapper) => {
        if (err) {
          fail(new ProxyError('SFTP_CONNECT_FAILED', `SFTP subsystem: ${err.message}`, { cause: err }));
          return;
        }
        if (settled) {
          wrapper.end();
          return;
        }
        settled = true;
        clearTimeout(timer);
        client.removeAllListeners('error');
        client.removeAllListeners('close');
        resolve({ sftp: wrapper });
      });
    });
    const onHostKey = (key: Buffer): boolean => {
      presented = fingerprintOf(key);
      return fingerprintsEqual(presented, pin);
    };
    try {
      client.connect(buildConfig(target, onHostKey));
      // Without TCP_NODELAY, Nagle holds back our small READ requests behind unacknowledged ones: 3x slower here.
      client.setNoDelay(true);
    } catch (err) {
      // ssh2 throws synchronously for a private key it cannot parse or decrypt; parseKey above already caught those.
      fail(new ProxyError('SFTP_KEY_INVALID', (err as Error).message, { cause: err }));
    }
  });
  return createSession(client, sftp, presented, slog);
}

function createSession(client: Client, sftp: SFTPWrapper, presented: string, log: Logger): SftpSession {
  let closed = false;
  const closedPromise = new Promise<void>((resolve) => {
    client.once('close', () => {
      closed = true;
      resolve();
    });
  });
  client.on('error', (err: Error) => {
    log.warn({ err: { message: err.message, level: levelOf(err) } }, 'SFTP connection error');
  });
  sftp.on('error', (err: Error) => {
    log.warn({ err: { message: err.message } }, 'SFTP channel error');
  });
  const maxReadLen = maxReadLenOf(sftp);
  log.debug({ maxReadLen }, 'SFTP session ready');
  const ensureOpen = (code: 'SFTP_LIST_FAILED' | 'SFTP_TRANSFER_FAILED'): void => {
    if (closed) throw new ProxyError(code, 'the SFTP connection is closed');
  };

  return {
    hostKeyFingerprint: presented,
    maxReadLen,
    async list(dir) {
      ensureOpen('SFTP_LIST_FAILED');
      return listRegularFiles(sftp, dir);
    },
    async stat(path) {
      ensureOpen('SFTP_LIST_FAILED');
      return statRegularFile(sftp, path);
    },
    async readSmallFile(path, maxBytes) {
      ensureOpen('SFTP_TRANSFER_FAILED');
      return readSmallRemoteFile(sftp, path, maxBytes);
    },
    async download(options) {
      ensureOpen('SFTP_TRANSFER_FAILED');
      return downloadFile(sftp, options, { log, maxReadLen });
    },
    async remove(path) {
      ensureOpen('SFTP_TRANSFER_FAILED');
      return removeRemoteFile(sftp, path);
    },
    async close() {
      if (closed) return;
      client.end();
      const timer = setTimeout(() => client.destroy(), CLOSE_WAIT_MS);
      await closedPromise;
      clearTimeout(timer);
    },
  };
}
