import { timingSafeEqual } from 'node:crypto';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import ssh2 from 'ssh2';
import type { Attributes, AuthContext, Connection, FileEntry, SFTPWrapper } from 'ssh2';
import type { FaultState } from './faults.js';
import { hostKeyFingerprint, parseKeyOrThrow } from './host-key.js';

const { Server, utils } = ssh2;
const STATUS = utils.sftp.STATUS_CODE;
const OPEN_MODE = utils.sftp.OPEN_MODE;
/** Largest READ answer; clients ask for 32 KiB (ssh2) up to 255 KiB (OpenSSH with limits@openssh.com). */
const MAX_READ = 256 * 1024;

export interface SftpServerOptions {
  /** Served as `/`. */
  readonly root: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** OpenSSH one-line public key. */
  readonly authorizedPublicKey: string;
  /** Host private key (PEM or OpenSSH). */
  readonly hostKey: string;
  readonly faults: FaultState;
  readonly log: Logger;
}

export interface RunningSftpServer {
  readonly port: number;
  readonly hostKeyFingerprint: string;
  close(): Promise<void>;
}

type Handle =
  | { kind: 'file'; path: string; name: string; fh: FileHandle; served: number; claimed: number; stalled: boolean; dropping?: boolean }
  | { kind: 'dir'; path: string; listed: boolean };

class PathRefused extends Error {}

/** Client path -> absolute virtual path ('/a/b'); refuses `..` segments and NUL bytes (no escape from the root). */
export function virtualPath(requested: string): string {
  if (requested.includes('\0')) throw new PathRefused('NUL in path');
  const segments = requested.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new PathRefused('".." is not allowed');
  return posix.normalize('/' + segments.join('/'));
}

function attrsOf(s: Stats): Attributes {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, atime: Math.floor(s.atimeMs / 1000), mtime: Math.floor(s.mtimeMs / 1000) };
}

function longname(name: string, s: Stats): string {
  const type = s.isDirectory() ? 'd' : '-';
  const perms = s.isDirectory() ? 'rwxr-xr-x' : 'rw-r--r--';
  const date = s.mtime.toUTCString().slice(5, 22);
  return `${type}${perms}    1 vendor   vendor   ${String(s.size).padStart(12)} ${date} ${name}`;
}

const isArchive = (name: string): boolean => name.endsWith('.zip');

/** One SFTP subsystem session: read-only view of `root` with the simulator's faults applied to file data. */
function serveSftp(sftp: SFTPWrapper, client: Connection, opts: SftpServerOptions, log: Logger): void {
  const handles = new Map<number, Handle>();
  let nextHandle = 1;
  const real = (virtual: string): string => join(opts.root, virtual);
  const newHandle = (h: Handle): Buffer => {
    const id = nextHandle++;
    handles.set(id, h);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(id, 0);
    return b;
  };
  const handleOf = (b: Buffer): [number, Handle | undefined] => {
    const id = b.length === 4 ? b.readUInt32BE(0) : -1;
    return [id, handles.get(id)];
  };
  /** Replies can race a closed channel; a failed send is not an error of ours. */
  const safely = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      log.debug({ err }, 'sftp reply after channel close');
    }
  };
  const fail = (reqid: number, err: unknown): void => {
    const code = err instanceof PathRefused ? STATUS.PERMISSION_DENIED
      : (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR' ? STATUS.NO_SUCH_FILE
        : STATUS.FAILURE;
    safely(() => sftp.status(reqid, code, err instanceof Error ? err.message : 'failure'));
  };
  const run = (reqid: number, fn: () => Promise<void>): void => {
    fn().catch((err: unknown) => fail(reqid, err));
  };
  const statPath = (reqid: number, path: string): void =>
    run(reqid, async () => {
      const s = await stat(real(virtualPath(path)));
      safely(() => sftp.attrs(reqid, attrsOf(s)));
    });

  sftp.on('REALPATH', (reqid, path) => run(reqid, () => {
    const v = virtualPath(path);
    // REALPATH answers carry no attributes (ssh2 sends an empty ATTRS for missing fields).
    safely(() => sftp.name(reqid, [{ filename: v, longname: v, attrs: {} as Attributes }]));
    return Promise.resolve();
  }));
  sftp.on('STAT', statPath);
  sftp.on('LSTAT', statPath);
  sftp.on('FSTAT', (reqid, raw) => run(reqid, async () => {
    const [, h] = handleOf(raw);
    if (!h) return safely(() => sftp.status(reqid, STATUS.FAILURE, 'bad handle'));
    const s = h.kind === 'file' ? await h.fh.stat() : await stat(real(h.path));
    safely(() => sftp.attrs(reqid, attrsOf(s)));
  }));
  sftp.on('OPEN', (reqid, path, flags) => run(reqid, async () => {
    if (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC)) {
      return safely(() => sftp.status(reqid, STATUS.PERMISSION_DENIED, 'read-only'));
    }
    const v = virtualPath(path);
    const fh = await open(real(v), 'r');
    const s = await fh.stat();
    if (!s.isFile()) {
      await fh.close();
      return safely(() => sftp.status(reqid, STATUS.FAILURE, 'not a regular file'));
    }
    const h = newHandle({ kind: 'file', path: v, name: posix.basename(v), fh, served: 0, claimed: 0, stalled: false });
    safely(() => sftp.handle(reqid, h));
  }));
  sftp.on('READ', (reqid, raw, offset, length) => run(reqid, async () => {
    const [, h] = handleOf(raw);
    if (!h || h.kind !== 'file') return safely(() => sftp.status(reqid, STATUS.FAILURE, 'bad handle'));
    if (h.stalled || h.dropping) return; // never answered: stalled, or the connection is about to be dropped
    const faults = opts.faults;
    let want = Math.min(length, MAX_READ);
    if (faults.current.shortReads && want > 1) want = Math.ceil(want / 2);
    const archive = isArchive(h.name);
    const dropAt = archive ? faults.dropLimit(h.path) : undefined;
    const stallAt = archive ? faults.stallLimit(h.path) : undefined;
    let action: 'drop' | 'stall' | undefined;
    // Faults count bytes claimed by READs so far, decided synchronously: READs run concurrently, so a counter
    // updated after the file read would let 64 parallel requests all pass the threshold unseen.
    if (dropAt !== undefined && h.claimed + want >= dropAt) {
      // This READ crosses the threshold: it is served up to it and then ends the connection (after the READs
      // claimed before it); READs after it are never answered.
      want = Math.max(0, dropAt - h.claimed);
      action = 'drop';
      h.dropping = true;
    } else if (stallAt !== undefined && h.claimed + want >= stallAt) {
      want = Math.max(0, stallAt - h.claimed);
      action = 'stall';
    }
    h.claimed += want;
    const buf = Buffer.alloc(Math.max(0, want));
    const { bytesRead } = want > 0 ? await h.fh.read(buf, 0, want, offset) : { bytesRead: 0 };
    const data = buf.subarray(0, bytesRead);
    const flip = faults.current.flipByteAt;
    if (archive && flip >= offset && flip < offset + bytesRead) data[flip - offset] = (data[flip - offset] ?? 0) ^ 0xff;
    const delay = faults.reserve(bytesRead);
    if (delay > 0) await sleep(delay);
    h.served += bytesRead;
    if (action === 'drop') {
      faults.markDropped(h.path);
      log.warn({ file: h.path, served: h.served }, 'fault: dropping the connection');
      if (bytesRead > 0) safely(() => sftp.data(reqid, data));
      setImmediate(() => client.end());
      return;
    }
    if (action === 'stall') {
      faults.markStalled(h.path);
      h.stalled = true;
      log.warn({ file: h.path, served: h.served }, 'fault: stalling reads');
      if (bytesRead > 0) safely(() => sftp.data(reqid, data));
      return;
    }
    if (bytesRead === 0) return safely(() => sftp.status(reqid, STATUS.EOF));
    safely(() => sftp.data(reqid, data));
  }));
  sftp.on('OPENDIR', (reqid, path) => run(reqid, async () => {
    const v = virtualPath(path);
    const s = await stat(real(v));
    if (!s.isDirectory()) return safely(() => sftp.status(reqid, STATUS.FAILURE, 'not a directory'));
    const h = newHandle({ kind: 'dir', path: v, listed: false });
    safely(() => sftp.handle(reqid, h));
  }));
  sftp.on('READDIR', (reqid, raw) => run(reqid, async () => {
    const [, h] = handleOf(raw);
    if (!h || h.kind !== 'dir') return safely(() => sftp.status(reqid, STATUS.FAILURE, 'bad handle'));
    if (h.listed) return safely(() => sftp.status(reqid, STATUS.EOF));
    h.listed = true;
    const names = await readdir(real(h.path));
    const entries: FileEntry[] = [];
    for (const name of names.sort()) {
      const s = await stat(join(real(h.path), name)).catch(() => undefined);
      if (s) entries.push({ filename: name, longname: longname(name, s), attrs: attrsOf(s) });
    }
    if (entries.length === 0) return safely(() => sftp.status(reqid, STATUS.EOF));
    safely(() => sftp.name(reqid, entries));
  }));
  sftp.on('CLOSE', (reqid, raw) => run(reqid, async () => {
    const [id, h] = handleOf(raw);
    if (!h) return safely(() => sftp.status(reqid, STATUS.FAILURE, 'bad handle'));
    handles.delete(id);
    if (h.kind === 'file') await h.fh.close();
    safely(() => sftp.status(reqid, STATUS.OK));
  }));
  const deny = (reqid: number): void => safely(() => sftp.status(reqid, STATUS.PERMISSION_DENIED, 'read-only'));
  for (const op of ['WRITE', 'REMOVE', 'RENAME', 'MKDIR', 'RMDIR', 'SETSTAT', 'FSETSTAT', 'SYMLINK'] as const) {
    sftp.on(op, deny);
  }
  // The client sends EOF when it is done (OpenSSH sftp then waits for the channel to close).
  sftp.on('end', () => safely(() => sftp.end()));
  sftp.on('close', () => {
    for (const h of handles.values()) if (h.kind === 'file') void h.fh.close().catch(() => undefined);
    handles.clear();
  });
}

function keyMatches(ctx: AuthContext, allowed: Buffer, username: string, verify: (blob: Buffer, sig: Buffer, algo?: string) => boolean): boolean {
  if (ctx.method !== 'publickey' || ctx.username !== username) return false;
  if (ctx.key.data.length !== allowed.length || !timingSafeEqual(ctx.key.data, allowed)) return false;
  if (ctx.signature && ctx.blob) return verify(ctx.blob, ctx.signature, ctx.hashAlgo);
  return true; // key query without signature: "this key would be accepted"
}

/** An SSH server that only offers the SFTP subsystem, public-key auth against one key, read-only. */
export async function startSftpServer(opts: SftpServerOptions): Promise<RunningSftpServer> {
  const log = opts.log.child({ component: 'vendor-sim-sftp' });
  const allowedKey = parseKeyOrThrow(opts.authorizedPublicKey, 'authorizedPublicKey');
  const allowed = allowedKey.getPublicSSH();
  const hostKey = parseKeyOrThrow(opts.hostKey, 'hostKey');
  const clients = new Set<Connection>();
  const debug = log.isLevelEnabled('trace') ? (msg: string): void => log.trace(msg) : undefined;
  const server = new Server({ hostKeys: [opts.hostKey], ...(debug && { debug }) }, (client) => {
    clients.add(client);
    client.on('error', (err) => log.debug({ err }, 'ssh client error'));
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      if (keyMatches(ctx, allowed, opts.username, (blob, sig, algo) => allowedKey.verify(blob, sig, algo))) ctx.accept();
      else ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp) => serveSftp(acceptSftp(), client, opts, log));
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err: Error) => log.error({ err }, 'sftp server error'));
  const port = (server.address() as AddressInfo).port;
  log.info({ host: opts.host, port }, 'sftp listening');
  return {
    port,
    hostKeyFingerprint: hostKeyFingerprint(hostKey),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        server.close(() => resolve());
      }),
  };
}
