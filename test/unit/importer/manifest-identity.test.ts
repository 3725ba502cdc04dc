import { describe, expect, it } from 'vitest';
import { requireArchiveName } from '../../../proxy/archive/archive-name.js';
import { isProxyError, type ErrorCode } from '../../../proxy/errors.js';
import { parseManifest, verifyManifestIdentity } from '../../../proxy/importer/manifest.js';

const JOB = '0b9e0a52-5c1f-4e3a-9d7a-2f4f6c1d8e01';
const NAME = requireArchiveName(`backup_svc1001_${JOB}_20260301020000.zip`);
const manifest = (over: Record<string, unknown> = {}): ReturnType<typeof parseManifest> =>
  parseManifest({ version: 1, serviceId: 'svc1001', jobId: JOB, createdAt: '2026-03-01T02:00:00.000Z', entries: [], records: {}, ...over });

function codeOf(fn: () => void): ErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (isProxyError(err)) return err.code;
    throw err;
  }
}

describe('manifest.json names the archive it is in', () => {
  it('accepts the serviceId, jobId (any case) and createdAt (to the second) of the file name', () => {
    expect(codeOf(() => verifyManifestIdentity(manifest(), NAME))).toBe('ok');
    expect(codeOf(() => verifyManifestIdentity(manifest({ jobId: JOB.toUpperCase(), createdAt: '2026-03-01T02:00:00.999Z' }), NAME))).toBe('ok');
    expect(codeOf(() => verifyManifestIdentity(manifest({ createdAt: '2026-03-01T10:00:00+08:00' }), NAME))).toBe('ok');
  });

  it.each([
    ['serviceId', { serviceId: 'svc1002' }],
    ['jobId', { jobId: '0b9e0a52-5c1f-4e3a-9d7a-2f4f6c1d8e02' }],
    ['createdAt', { createdAt: '2026-03-01T02:00:01.000Z' }],
    ['createdAt', { createdAt: '2026-02-28T02:00:00.000Z' }],
  ])('MANIFEST_MISMATCH when %s differs', (field, over) => {
    let error: unknown;
    try {
      verifyManifestIdentity(manifest(over), NAME);
    } catch (err) {
      error = err;
    }
    expect(isProxyError(error, 'MANIFEST_MISMATCH')).toBe(true);
    expect((error as { details: unknown }).details).toMatchObject({ path: 'manifest.json', field });
  });
});
