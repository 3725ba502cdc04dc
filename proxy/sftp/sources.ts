import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { SftpTarget } from './connect.js';

/**
 * One SFTP server the proxy collects from: `sftp.host` (the primary: the vendor's server, or this node's own inbox)
 * and each of `sftp.peers` (e.g. the other HA node's inbox). All use the same username, key and remoteDir.
 *
 * A server is identified by its pinned host key, not its address: in the HA layout each node reaches its own inbox as
 * 127.0.0.1 and the other one by its address, yet both nodes must agree which server a job's archive is on.
 */
export interface SftpSource {
  /** The pinned fingerprint, normalised (`SHA256:<base64>`, no padding). */
  readonly id: string;
  /** Field name under a job's `copies` (hex of the fingerprint's digest: no dots, no `$`). */
  readonly key: string;
  /** `host:port`, for logs and messages. */
  readonly label: string;
  readonly primary: boolean;
  readonly target: SftpTarget;
}

export function normaliseFingerprint(fingerprint: string): string {
  return fingerprint.trim().replace(/=+$/, '');
}

/** The `copies` field name of a server. */
export function copyKeyOf(serverId: string): string {
  const b64 = normaliseFingerprint(serverId).replace(/^SHA256:/, '');
  const bytes = Buffer.from(b64, 'base64');
  // Anything that is not a 32-byte digest (never from the schema) still gets a safe, stable key.
  return `h${bytes.length === 32 ? bytes.toString('hex') : createHash('sha256').update(serverId).digest('hex')}`;
}

export function sftpTargetFrom(config: Config, server?: { host: string; port: number; hostKeyFingerprint: string }): SftpTarget {
  const { sftp } = config;
  const where = server ?? sftp;
  return {
    host: where.host,
    port: where.port,
    username: sftp.username,
    privateKey: sftp.privateKey,
    ...(sftp.passphrase ? { passphrase: sftp.passphrase } : {}),
    hostKeyFingerprint: where.hostKeyFingerprint,
    readyTimeoutMs: sftp.readyTimeoutMs,
  };
}

/**
 * The primary first, then the peers in configuration order. Every server has its own host key: the configuration
 * refuses two equal fingerprints (proxy/config/sftp-server-rules.ts), so none is merged into another here.
 */
export function sftpSources(config: Config): SftpSource[] {
  const make = (server: { host: string; port: number; hostKeyFingerprint: string }, primary: boolean): SftpSource => {
    const id = normaliseFingerprint(server.hostKeyFingerprint);
    return { id, key: copyKeyOf(id), label: `${server.host}:${server.port}`, primary, target: sftpTargetFrom(config, server) };
  };
  return [make(config.sftp, true), ...config.sftp.peers.map((peer) => make(peer, false))];
}
