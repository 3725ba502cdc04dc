/**
 * The project's one error list. Every error the proxy raises on purpose carries one of these codes;
 * tests assert on `code`, never on message text. `status` is the HTTP status the portal/API answers with.
 */
export const ERRORS = {
  // configuration and CLI
  CONFIG_INVALID: { status: 500, message: 'Configuration is invalid' },
  CONFIG_NOT_FOUND: { status: 500, message: 'Configuration file not found' },
  SECRET_FILE_UNREADABLE: { status: 500, message: 'A secret file could not be read' },
  USAGE: { status: 400, message: 'Invalid command line' },

  // archive names and contract
  ARCHIVE_NAME_INVALID: { status: 400, message: 'File name does not follow backup_{serviceId}_{jobId}_{yyyymmddhhmmss}.zip' },
  ARCHIVE_NOT_ZIP: { status: 422, message: 'File is not a readable ZIP archive' },
  ARCHIVE_NOT_ENCRYPTED: { status: 422, message: 'Archive entry is not encrypted (downgrade refused)' },
  ARCHIVE_WRONG_KEY: { status: 422, message: 'The Archive Key does not open this archive' },
  ARCHIVE_BAD_CRC: { status: 422, message: 'Entry CRC-32 does not match its content' },
  ARCHIVE_BAD_HMAC: { status: 422, message: 'Entry HMAC (WinZip AES authentication code) does not match' },
  ARCHIVE_UNSUPPORTED: { status: 422, message: 'Archive uses an unsupported compression or encryption method' },
  ARCHIVE_PATH_TRAVERSAL: { status: 422, message: 'Entry path escapes the extraction directory (zip slip)' },
  ARCHIVE_SYMLINK: { status: 422, message: 'Archive contains a symbolic link' },
  ARCHIVE_OVERLAPPING_ENTRIES: { status: 422, message: 'Archive entries overlap (zip bomb construction)' },
  ARCHIVE_DUPLICATE_ENTRY: { status: 422, message: 'Archive contains the same entry name twice' },
  ARCHIVE_NAME_AMBIGUOUS: { status: 422, message: 'Entry name cannot be decoded unambiguously (see docs/archive-format.md, Entry names)' },
  ARCHIVE_RATIO_EXCEEDED: { status: 422, message: 'Entry compression ratio exceeds the limit (zip bomb)' },
  ARCHIVE_TOO_LARGE: { status: 422, message: 'Archive expands beyond the total size limit (zip bomb)' },
  ARCHIVE_TOO_MANY_ENTRIES: { status: 422, message: 'Archive has more entries than the limit' },
  ARCHIVE_SIZE_MISMATCH: { status: 422, message: 'Entry size differs from the size its header declares' },
  ARCHIVE_DEST_NOT_EMPTY: { status: 500, message: 'Extraction directory is not empty' },
  MANIFEST_INVALID: { status: 422, message: 'manifest.json is not valid' },
  MANIFEST_MISMATCH: { status: 422, message: 'Archive content does not match manifest.json' },
  MANIFEST_MISSING: { status: 422, message: 'Archive has no manifest.json, and archive.requireManifest is on' },
  RECORD_INVALID: { status: 422, message: 'A record file is not valid MongoDB Extended JSON' },

  // SFTP transfer
  SFTP_CONNECT_FAILED: { status: 502, message: 'Could not connect to the SFTP server' },
  SFTP_HOST_KEY_NOT_PINNED: { status: 500, message: 'No SFTP host key fingerprint is configured; refusing to connect' },
  SFTP_HOST_KEY_MISMATCH: { status: 502, message: 'SFTP host key does not match the pinned fingerprint' },
  SFTP_AUTH_FAILED: { status: 502, message: 'SFTP authentication failed' },
  SFTP_KEY_INVALID: { status: 500, message: 'The configured SFTP private key cannot be used (not a key, or wrong passphrase)' },
  SFTP_LIST_FAILED: { status: 502, message: 'Could not list the remote directory' },
  SFTP_TRANSFER_FAILED: { status: 502, message: 'SFTP transfer failed' },
  SFTP_TIMEOUT: { status: 504, message: 'SFTP operation timed out' },
  DOWNLOAD_SIZE_MISMATCH: { status: 502, message: 'Downloaded size differs from the remote size' },
  DOWNLOAD_CHECKSUM_MISMATCH: { status: 502, message: 'Downloaded file does not match the published checksum' },
  REMOTE_FILE_CHANGED: { status: 409, message: 'Remote file changed while it was being downloaded' },
  DOWNLOAD_ABORTED: { status: 503, message: 'Download was aborted (shutdown or cancel)' },
  ARCHIVE_COPIES_DIFFER: { status: 409, message: 'The same archive name is on two SFTP servers with different content (size or published checksum); the other copy is neither imported nor removed' },
  SFTP_REMOVE_FAILED: { status: 502, message: 'Could not remove a collected archive from the SFTP server' },

  // database
  DB_UNAVAILABLE: { status: 503, message: 'Database is not reachable' },
  DB_NOT_DURABLE: { status: 503, message: 'Write was not acknowledged by a majority in time (not yet durable)' },
  DB_NO_LOCAL_SERVER: { status: 503, message: 'No MongoDB-compatible database could be found or started' },
  DB_AUTH_FAILED: { status: 500, message: 'The database refused the configured credentials' },
  DB_WRITE_REJECTED: { status: 500, message: 'The database rejected a write (not retryable as is)' },
  DB_BUSY: { status: 503, message: 'The database refused a write for now (busy with another write); try again' },
  STAGING_FILE_CHANGED: { status: 500, message: 'An extracted file no longer matches the size or CRC-32 recorded at extraction' },
  JOB_STATE_CONFLICT: { status: 409, message: 'Job is not in the expected state' },
  CYCLE_ALREADY_RUNNING: { status: 409, message: 'A sync cycle is already running' },

  // HA: the leader lease (one pulling node per siteId)
  LEASE_LOST: { status: 409, message: 'This node no longer holds the leader lease; its write was fenced off' },
  LEASE_HELD: { status: 409, message: 'Another node holds the leader lease' },

  // vendor reporting
  VENDOR_UNREACHABLE: { status: 502, message: 'Vendor status endpoint is not reachable' },
  VENDOR_REJECTED: { status: 502, message: 'Vendor rejected the status report' },
  SIGNATURE_INVALID: { status: 401, message: 'Request signature is missing, stale or invalid' },

  // local disk
  DISK_FULL: { status: 507, message: 'Not enough free space in the staging directory' },

  // Retention Portal
  AUTH_REQUIRED: { status: 401, message: 'Sign in first (no valid session)' },
  AUTH_INVALID_CREDENTIALS: { status: 401, message: 'User name or password is wrong' },
  AUTH_LOCKED: { status: 429, message: 'Too many failed sign-in attempts; try again later' },
  FORBIDDEN: { status: 403, message: 'Your role may not do this' },
  CSRF_INVALID: { status: 403, message: 'Missing or wrong X-CSRF-Token header' },
  USER_EXISTS: { status: 409, message: 'A user with this name already exists' },
  PASSWORD_WEAK: { status: 400, message: 'Password needs at least 8 characters with upper- and lower-case letters and a digit or symbol' },
  LAST_ADMIN: { status: 409, message: 'The last enabled admin cannot be deleted, demoted or disabled' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'Requested byte range is outside the file' },
  MEDIA_MISSING: { status: 404, message: 'The file record exists but its binary is not stored' },
  QUERY_TIMEOUT: { status: 503, message: 'The query ran longer than portal.queryTimeoutMs and was stopped; narrow the search or the date range' },
  EXPORT_USED: { status: 409, message: 'This case export has already been downloaded (or its download started); prepare a new one' },
  QUERY_TOO_BROAD: { status: 400, message: 'The search matches too many records to resolve; narrow the search: add a date range or a longer search text' },
  EXPORT_TOO_LARGE: { status: 400, message: 'The case export would hold too many records; narrow it: a shorter date range or more filters' },

  // retention governance
  POLICY_READ_ONLY: { status: 409, message: 'This policy comes from the configuration file; change it there' },
  POLICY_EXISTS: { status: 409, message: 'A retention policy with this id already exists' },
  CONFIRMATION_MISMATCH: { status: 400, message: 'The typed confirmation does not match the policy name' },
  HOLD_RELEASED: { status: 409, message: 'This legal hold has already been released' },
  NOT_ARCHIVED: { status: 409, message: 'The record is not archived' },
  NOT_LEADER: { status: 409, message: 'Only the HA leader runs retention; ask the leader node' },
  RUN_IN_PROGRESS: { status: 409, message: 'A retention run is already in progress' },
  HOLD_TOO_LARGE: { status: 400, message: 'The legal hold covers too many records to be resolved; narrow it' },
  POLICY_CHANGED: { status: 409, message: 'A retention policy changed during the run; the run stopped executing it (the next run plans again)' },
  DISPOSITION_LOCKED: { status: 503, message: 'The disposition lock is held (a hold is being placed or a batch is running); try again' },
  NOT_IMPLEMENTED: { status: 501, message: 'Not implemented yet' },

  // saved searches (docs/portal-api.md)
  SAVED_SEARCH_EXISTS: { status: 409, message: 'You already have a saved search with this name for this list' },
  SAVED_SEARCH_LIMIT: { status: 409, message: 'You have reached the number of saved searches you may keep; delete one first' },

  // generic
  NOT_FOUND: { status: 404, message: 'Not found' },
  VALIDATION: { status: 400, message: 'Request is not valid' },
  INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class ProxyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Machine-readable context (never secrets). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    const base = ERRORS[code].message;
    super(detail ? `${base}: ${detail}` : base, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = options?.details ? Object.freeze({ ...options.details }) : undefined;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isProxyError(err: unknown, code?: ErrorCode): err is ProxyError {
  return err instanceof ProxyError && (code === undefined || err.code === code);
}

/** The code of any thrown value: ours, or INTERNAL. */
export function errorCodeOf(err: unknown): ErrorCode {
  return err instanceof ProxyError ? err.code : 'INTERNAL';
}
