import { parseArgs } from 'node:util';
import { runVendorSimCli } from '../../vendor-sim/index.js';
import { createLogger } from '../../log/logger.js';
import { pino } from 'pino';
import { EXIT, type CliIo, type ExitCode } from '../io.js';

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
    },
    log,
    signal,
  );
  return EXIT.OK;
}
