import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../../../proxy/errors.js';
import { backoffMs } from '../../../proxy/pipeline/backoff.js';
import { classifyFailure } from '../../../proxy/pipeline/failure-policy.js';

describe('backoffMs', () => {
  it('doubles per attempt within [exp/2, exp] and is capped', () => {
    expect(backoffMs(1, 30, 3600, () => 0)).toBe(15_000);
    expect(backoffMs(1, 30, 3600, () => 1)).toBe(30_000);
    expect(backoffMs(3, 30, 3600, () => 1)).toBe(120_000);
    expect(backoffMs(30, 30, 3600, () => 1)).toBe(3_600_000);
  });
});

describe('classifyFailure', () => {
  it('never fails an archive for an infrastructure problem (database not durable, tunnel down, disk full)', () => {
    for (const c of ['DB_NOT_DURABLE', 'DB_UNAVAILABLE', 'SFTP_CONNECT_FAILED', 'SFTP_TRANSFER_FAILED', 'DISK_FULL', 'VENDOR_UNREACHABLE'] as const) {
      expect(classifyFailure(c), c).toBe('retry');
    }
  });
  it('treats every archive content error as permanent and transfer errors as refetch', () => {
    const archiveCodes = (Object.keys(ERRORS) as ErrorCode[]).filter((c) => ERRORS[c].status === 422 && c !== 'ARCHIVE_NAME_INVALID');
    for (const c of archiveCodes) expect(classifyFailure(c), c).toBe('permanent');
    expect(classifyFailure('DOWNLOAD_CHECKSUM_MISMATCH')).toBe('refetch');
    expect(classifyFailure('ARCHIVE_DEST_NOT_EMPTY')).toBe('retry');
  });
});
