import type { ErrorCode } from '../errors.js';

export type FailureKind =
  /** The archive itself is bad: quarantine it, mark the job failed, report "failed". Retrying cannot help. */
  | 'permanent'
  /** The transfer went wrong: discard the partial download and fetch again; fails after schedule.maxAttempts. */
  | 'refetch'
  /**
   * Infrastructure or a local problem (tunnel down, database away or not durable yet, disk full, vendor down):
   * keep the state and retry with backoff for ever. The archive is fine, so it is never failed for this.
   */
  | 'retry';

/** Every code is listed on purpose: a new code must be given a policy (the switch is checked for exhaustiveness). */
export function classifyFailure(code: ErrorCode): FailureKind {
  switch (code) {
    case 'ARCHIVE_NAME_INVALID':
    case 'ARCHIVE_NOT_ZIP':
    case 'ARCHIVE_NOT_ENCRYPTED':
    case 'ARCHIVE_WRONG_KEY':
    case 'ARCHIVE_BAD_CRC':
    case 'ARCHIVE_BAD_HMAC':
    case 'ARCHIVE_UNSUPPORTED':
    case 'ARCHIVE_PATH_TRAVERSAL':
    case 'ARCHIVE_SYMLINK':
    case 'ARCHIVE_OVERLAPPING_ENTRIES':
    case 'ARCHIVE_DUPLICATE_ENTRY':
    case 'ARCHIVE_NAME_AMBIGUOUS':
    case 'ARCHIVE_RATIO_EXCEEDED':
    case 'ARCHIVE_TOO_LARGE':
    case 'ARCHIVE_TOO_MANY_ENTRIES':
    case 'ARCHIVE_SIZE_MISMATCH':
    case 'ARCHIVE_COPIES_DIFFER':
    case 'MANIFEST_INVALID':
    case 'MANIFEST_MISMATCH':
    case 'MANIFEST_MISSING':
    case 'RECORD_INVALID':
      return 'permanent';
    case 'DOWNLOAD_SIZE_MISMATCH':
    case 'DOWNLOAD_CHECKSUM_MISMATCH':
    case 'REMOTE_FILE_CHANGED':
      return 'refetch';
    case 'SFTP_CONNECT_FAILED':
    case 'SFTP_HOST_KEY_NOT_PINNED':
    case 'SFTP_HOST_KEY_MISMATCH':
    case 'SFTP_AUTH_FAILED':
    case 'SFTP_KEY_INVALID':
    case 'SFTP_LIST_FAILED':
    case 'SFTP_TRANSFER_FAILED':
    case 'SFTP_TIMEOUT':
    case 'SFTP_REMOVE_FAILED':
    case 'DOWNLOAD_ABORTED':
    case 'DB_UNAVAILABLE':
    case 'DB_NOT_DURABLE':
    case 'DB_NO_LOCAL_SERVER':
    case 'DB_AUTH_FAILED':
    case 'DB_WRITE_REJECTED':
    case 'DB_BUSY':
    case 'STAGING_FILE_CHANGED':
    case 'ARCHIVE_DEST_NOT_EMPTY':
    case 'DISK_FULL':
    case 'JOB_STATE_CONFLICT':
    case 'CYCLE_ALREADY_RUNNING':
    case 'LEASE_LOST':
    case 'LEASE_HELD':
    case 'VENDOR_UNREACHABLE':
    case 'VENDOR_REJECTED':
    case 'SIGNATURE_INVALID':
    case 'CONFIG_INVALID':
    case 'CONFIG_NOT_FOUND':
    case 'SECRET_FILE_UNREADABLE':
    case 'USAGE':
    case 'NOT_FOUND':
    case 'VALIDATION':
    case 'INTERNAL':
    case 'AUTH_REQUIRED': // portal codes never come out of the pipeline; listed to keep the switch exhaustive
    case 'AUTH_INVALID_CREDENTIALS':
    case 'AUTH_LOCKED':
    case 'FORBIDDEN':
    case 'CSRF_INVALID':
    case 'USER_EXISTS':
    case 'PASSWORD_WEAK':
    case 'LAST_ADMIN':
    case 'RANGE_NOT_SATISFIABLE':
    case 'MEDIA_MISSING':
    case 'POLICY_READ_ONLY': // retention codes never come out of the pipeline either
    case 'POLICY_EXISTS':
    case 'CONFIRMATION_MISMATCH':
    case 'HOLD_RELEASED':
    case 'NOT_ARCHIVED':
    case 'NOT_LEADER':
    case 'RUN_IN_PROGRESS':
    case 'POLICY_CHANGED':
    case 'HOLD_TOO_LARGE':
    case 'DISPOSITION_LOCKED':
    case 'NOT_IMPLEMENTED':
    case 'SAVED_SEARCH_EXISTS':
    case 'SAVED_SEARCH_LIMIT':
    case 'QUERY_TIMEOUT':
    case 'EXPORT_USED':
    case 'QUERY_TOO_BROAD':
    case 'EXPORT_TOO_LARGE':
      return 'retry';
  }
}
