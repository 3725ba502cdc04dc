import { describe, expect, it } from 'vitest';
import { isProxyError } from '../../../proxy/errors.js';
import { parseChecksumFile } from '../../../proxy/pipeline/download-step.js';

const NAME = 'backup_svc1001_0b9e0a52-5c1f-4e3a-9d7a-2f4f6c1d8e01_20260301020000.zip';
const OTHER = 'backup_svc1001_0b9e0a52-5c1f-4e3a-9d7a-2f4f6c1d8e02_20260301020000.zip';
const HEX = 'AB'.repeat(32);

describe('the .sha256 sidecar', () => {
  it('gives the digest for this archive (sha256sum text and binary mode, or a bare digest)', () => {
    expect(parseChecksumFile(`${HEX}  ${NAME}\n`, NAME)).toBe(HEX.toLowerCase());
    expect(parseChecksumFile(`${HEX} *${NAME}\n`, NAME)).toBe(HEX.toLowerCase());
    expect(parseChecksumFile(`${HEX}  ./${NAME}\n`, NAME)).toBe(HEX.toLowerCase());
    expect(parseChecksumFile(`${HEX}\n`, NAME)).toBe(HEX.toLowerCase());
    expect(parseChecksumFile('not a digest', NAME)).toBeUndefined();
  });

  it('refuses a sidecar that names another archive (DOWNLOAD_CHECKSUM_MISMATCH)', () => {
    let error: unknown;
    try {
      parseChecksumFile(`${HEX}  ${OTHER}\n`, NAME);
    } catch (err) {
      error = err;
    }
    expect(isProxyError(error, 'DOWNLOAD_CHECKSUM_MISMATCH')).toBe(true);
    expect((error as { details: unknown }).details).toMatchObject({ fileName: NAME, sidecarName: OTHER });
  });
});
