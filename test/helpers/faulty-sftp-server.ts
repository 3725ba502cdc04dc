/**
 * Test helper: a minimal read-only SFTP server (ssh2 `Server`) serving the files of `root`, with injectable faults:
 * drop the connection after N bytes, stall (stop answering reads) after N bytes, answer every read short, or EOF early.
 * Byte counts are per connection, so a reconnect starts clean unless the faults say otherwise. `faults` is mutable:
 * change it between connections (e.g. drop on the first, serve cleanly on the second).
 */
import { closeSync, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { join, normalize } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Attributes, Connection, SFTPWrapper } from 'ssh2';
import { fingerprintOf } from '../../proxy/sftp/host-key.js';
import { generateEd25519KeyPair } from '../../proxy/vendor-sim/sftp/host-key.js';

const { Server, utils } = ssh2;
const STATUS = utils.sftp.STATUS_CODE;

export interface SftpFaults {
  /** Close the connection once this many file bytes were served on it. */
  dropAfterBytes?: number;
  /** Stop answering READ requests once this many file bytes were served on the connection. */
  stallAfterBytes?: number;
  /** Answer each READ with about a third of the requested length. */
  shortReads?: boolean;
  /** Answer EOF for reads at or beyond this offset although FSTAT reports the full size (a file that shrank). */
  eofAtOffset?: number;
}

export interface FaultySftpServer {
  host: '127.0.0.1';
  port: number;
  username: string;
  privateKey: string;
  hostKeyFingerprint: string;
  root: string;
  faults: SftpFaults;
  /** Connections accepted so far. */
  readonly connections: number;
  /** READ requests answered with data, over all connections. */
  readonly readsAnswered: number;
  stop(): Promise<void>;
}

function toAttrs(st: Stats): Attributes {
  return { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) };
}

function serveSftp(sftp: SFTPWrapper, root: string, state: { faults: SftpFaults; readsAnswered: number }, conn: Connection): void {
  const handles = new Map<number, number>(); // handle id -> fd
  let nextHandle = 1;
  let served = 0;
  const local = (p: string): string => join(root, normalize(`/${p}`));
  const fdOf = (handle: Buffer): number | undefined => (handle.length === 4 ? handles.get(handle.readUInt32BE(0)) : undefined);

  sftp.on('OPEN', (reqid, filename) => {
    try {
      const fd = openSync(local(filename), 'r');
      const id = nextHandle++;
      handles.set(id, fd);
      const handle = Buffer.alloc(4);
      handle.writeUInt32BE(id, 0);
      sftp.handle(reqid, handle);
    } catch {
      sftp.status(reqid, STATUS.NO_SUCH_FILE);
    }
  });
  sftp.on('FSTAT', (reqid, handle) => {
    const fd = fdOf(handle);
    if (fd === undefined) sftp.status(reqid, STATUS.FAILURE);
    else sftp.attrs(reqid, toAttrs(fstatSync(fd)));
  });
  const statPath = (reqid: number, path: string): void => {
    try {
      sftp.attrs(reqid, toAttrs(lstatSync(local(path))));
    } catch {
      sftp.status(reqid, STATUS.NO_SUCH_FILE);
    }
  };
  sftp.on('STAT', statPath);
  sftp.on('LSTAT', statPath);
  sftp.on('REALPATH', (reqid, path) => {
    sftp.name(reqid, [{ filename: normalize(`/${path}`), longname: '', attrs: {} as Attributes }]);
  });
  sftp.on('CLOSE', (reqid, handle) => {
    const fd = fdOf(handle);
    if (fd !== undefined) {
      closeSync(fd);
      handles.delete(handle.readUInt32BE(0));
    }
    sftp.status(reqid, STATUS.OK);
  });
  sftp.on('READ', (reqid, handle, offset, length) => {
    const fd = fdOf(handle);
    if (fd === undefined) {
      sftp.status(reqid, STATUS.FAILURE);
      return;
    }
    const { stallAfterBytes, dropAfterBytes, shortReads, eofAtOffset } = state.faults;
    if (stallAfterBytes !== undefined && served >= stallAfterBytes) return; // never answered
    if (eofAtOffset !== undefined && offset >= eofAtOffset) {
      sftp.status(reqid, STATUS.EOF);
      return;
    }
    let want = shortReads ? Math.max(1, Math.ceil(length / 3)) : length;
    if (dropAfterBytes !== undefined) want = Math.min(want, Math.max(0, dropAfterBytes - served));
    const buf = Buffer.allocUnsafe(want);
    const n = want === 0 ? 0 : readSync(fd, buf, 0, want, offset);
    if (dropAfterBytes !== undefined && served + n >= dropAfterBytes && n < length) {
      conn.end();
      return;
    }
    if (n === 0) {
      sftp.status(reqid, STATUS.EOF);
      return;
    }
    served += n;
    state.readsAnswered++;
    sftp.data(reqid, buf.subarray(0, n));
  });
  sftp.on('close', () => {
    for (const fd of handles.values()) closeSync(fd);
    handles.clear();
  });
}

export async function startFaultySftpServer(options: { root: string; faults?: SftpFaults }): Promise<FaultySftpServer> {
  const hostKey = generateEd25519KeyPair();
  const clientKey = generateEd25519KeyPair();
  const hostParsed = utils.parseKey(hostKey.public);
  const clientParsed = utils.parseKey(clientKey.public);
  if (hostParsed instanceof Error || clientParsed instanceof Error) throw new Error('could not parse generated keys');
  const clientBlob = clientParsed.getPublicSSH();
  const username = 'vendor';
  const state = { faults: { ...(options.faults ?? {}) }, readsAnswered: 0, connections: 0 };
  const connections = new Set<Connection>();

  const server = new Server({ hostKeys: [hostKey.private] }, (conn) => {
    state.connections++;
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== username) {
        ctx.reject(['publickey']);
        return;
      }
      const blob = ctx.key.data;
      if (blob.length !== clientBlob.length || !timingSafeEqual(blob, clientBlob)) {
        ctx.reject(['publickey']);
        return;
      }
      if (ctx.signature && ctx.blob && !clientParsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) {
        ctx.reject(['publickey']);
        return;
      }
      ctx.accept();
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => serveSftp(acceptSftp(), options.root, state, conn));
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    host: '127.0.0.1',
    port,
    username,
    privateKey: clientKey.private,
    hostKeyFingerprint: fingerprintOf(hostParsed.getPublicSSH()),
    root: options.root,
    get faults() {
      return state.faults;
    },
    set faults(value: SftpFaults) {
      state.faults = { ...value };
    },
    get connections() {
      return state.connections;
    },
    get readsAnswered() {
      return state.readsAnswered;
    },
    stop() {
      for (const conn of connections) conn.end();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
