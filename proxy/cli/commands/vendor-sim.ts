import { parseArgs } from 'node:util';
import { runVendorSimCli } from '../../vendor-sim/index.js';
import { createLogger } from '../../log/logger.js';
import { pino } from 'pino';
import { EXIT, type CliIo, type ExitCode } from '../io.js';
import type { VendorSimCliArgs } from '../../vendor-sim/types.js';

const HELP = `retention-proxy vendor-sim [options]   the vendor side, for demos and tests (loopback only)

  --data-dir DIR            archives are written here and served as the SFTP root (required)
  --authorized-key FILE     OpenSSH public key allowed to log in (required)
  --archive-key KEY         or env VENDOR_SIM_ARCHIVE_KEY (required)
  --signing-secret S        or env VENDOR_SIM_SIGNING_SECRET (required)
  --service-id ID           default svc1001
  --sftp-port N             default 2222      --http-port N   default 8081
  --encryption aes-256|zipcrypto              default aes-256
  --days N                  past days to publish at start (default 3)
  --records N               records per day (default 2000)
  --media-bytes N           media bytes per day (default 4194304)
  --auto-delete             Auto-Delete Retained Data: once every backup site reported Data Downloaded, delete the
                            archive from the SFTP server ("Deleting data...", "Retained data deleted"); without it the
                            Backup Log offers "Delete from CINNOX"
  --backup-sites A,B        the configured backup sites (siteIds) Auto-Delete waits for (default: those that reported)
Push mode (the customer runs the SFTP server, e.g. the proxy VM's upload inbox; docs/install.md):
  --push-to HOST:PORT       also upload each published archive into this SFTP server, as the vendor does:
                            <name>.uploading, renamed to <name> when complete, then <name>.sha256
  --push-user NAME          the inbox account (default rp-vendor)
  --push-key FILE           the vendor's private key (its public key is the one the inbox authorizes) (required)
  --push-host-key SHA256:.. the inbox's host key fingerprint, pinned (required; ssh-keygen -lf of its host key)
  --push-dir DIR            upload directory on that server (default /upload)
Faults: --drop-after-bytes N  --stall-after-bytes N  --bytes-per-second N  --flip-byte-at N  --short-reads  --still-uploading
        --fail-delete (deleting retained data fails: "Failed to delete data", then "Try again" on the Backup Log)
`;

export async function vendorSimCommand(argv: string[], io: CliIo, signal: AbortSignal): Promise<ExitCode> {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'data-dir': { type: 'string' }, 'authorized-key': { type: 'string' }, 'archive-key': { type: 'string' },
      'signing-secret': { type: 'string' }, 'service-id': { type: 'string' }, 'sftp-port': { type: 'string' },
      'http-port': { type: 'string' }, encryption: { type: 'string' }, days: { type: 'string' }, records: { type: 'string' },
      'media-bytes': { type: 'string' }, 'drop-after-bytes': { type: 'string' }, 'stall-after-bytes': { type: 'string' },
      'bytes-per-second': { type: 'string' }, 'flip-byte-at': { type: 'string' }, 'short-reads': { type: 'boolean' },
      'still-uploading': { type: 'boolean' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      'auto-delete': { type: 'boolean' }, 'backup-sites': { type: 'string' }, 'fail-delete': { type: 'boolean' },
      'push-to': { type: 'string' }, 'push-user': { type: 'string' }, 'push-key': { type: 'string' },
      'push-host-key': { type: 'string' }, 'push-dir': { type: 'string' },
    },
  });
  if (v.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  const archiveKey = v['archive-key'] ?? process.env.VENDOR_SIM_ARCHIVE_KEY;
  const signingSecret = v['signing-secret'] ?? process.env.VENDOR_SIM_SIGNING_SECRET;
  const encryption = v.encryption ?? 'aes-256';
  const missing = [
    !v['data-dir'] && '--data-dir', !v['authorized-key'] && '--authorized-key', !archiveKey && '--archive-key', !signingSecret && '--signing-secret',
  ].filter(Boolean);
  if (missing.length > 0 || (encryption !== 'aes-256' && encryption !== 'zipcrypto')) {
    io.err(`${missing.length ? `missing ${missing.join(', ')}` : '--encryption must be aes-256 or zipcrypto'}\n\n${HELP}`);
    return EXIT.USAGE;
  }
  const push = pushArgs(v);
  if (typeof push === 'string') {
    io.err(`${push}\n\n${HELP}`);
    return EXIT.USAGE;
  }
  const int = (s: string | undefined, d: number): number => (s === undefined ? d : Number.parseInt(s, 10));
  const log = createLogger({ level: v['log-level'] ?? 'info', destination: pino.destination({ fd: 2, sync: true }) });
  await runVendorSimCli(
    {
      dataDir: v['data-dir'] ?? '', serviceId: v['service-id'] ?? 'svc1001', archiveKey: archiveKey ?? '', signingSecret: signingSecret ?? '',
      sftpPort: int(v['sftp-port'], 2222), httpPort: int(v['http-port'], 8081), authorizedKeyFile: v['authorized-key'] ?? '',
      encryption, days: int(v.days, 3), records: int(v.records, 2000), mediaBytes: int(v['media-bytes'], 4 * 1024 * 1024),
      faults: {
        ...(v['drop-after-bytes'] ? { dropAfterBytes: int(v['drop-after-bytes'], 0) } : {}),
        ...(v['stall-after-bytes'] ? { stallAfterBytes: int(v['stall-after-bytes'], 0) } : {}),
        ...(v['bytes-per-second'] ? { bytesPerSecond: int(v['bytes-per-second'], 0) } : {}),
        ...(v['flip-byte-at'] ? { flipByteAt: int(v['flip-byte-at'], -1) } : {}),
        ...(v['short-reads'] ? { shortReads: true } : {}),
        ...(v['still-uploading'] ? { stillUploading: true } : {}),
        ...(v['fail-delete'] ? { failDelete: true } : {}),
      },
      ...(v['auto-delete'] ? { autoDelete: true } : {}),
      ...(v['backup-sites'] ? { backupSites: v['backup-sites'].split(',').map((x) => x.trim()).filter(Boolean) } : {}),
      ...(push ? { push } : {}),
    },
    log,
    signal,
  );
  return EXIT.OK;
}

/** The push-mode flags: undefined without --push-to, a usage message when they are incomplete or malformed. */
function pushArgs(v: Record<string, string | boolean | undefined>): VendorSimCliArgs['push'] | string | undefined {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
  const to = str('push-to');
  if (to === undefined) {
    const stray = ['push-user', 'push-key', 'push-host-key', 'push-dir'].filter((k) => v[k] !== undefined);
    return stray.length > 0 ? `--${stray.join(', --')} need --push-to` : undefined;
  }
  const m = /^(.+):(\d{1,5})$/.exec(to);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) return '--push-to must be HOST:PORT';
  const key = str('push-key');
  const pin = str('push-host-key');
  if (!key || !pin) return `--push-to needs ${[!key && '--push-key', !pin && '--push-host-key'].filter(Boolean).join(' and ')}`;
  if (!/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(pin)) return '--push-host-key must be SHA256:<base64> as ssh-keygen -lf prints it';
  return { host: (m[1] ?? '').replace(/^\[(.*)\]$/, '$1'), port, username: str('push-user') ?? 'rp-vendor', privateKeyFile: key, hostKeyFingerprint: pin, remoteDir: str('push-dir') ?? '/upload' };
}
