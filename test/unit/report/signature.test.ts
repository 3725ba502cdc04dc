import { describe, expect, it } from 'vitest';
import { signReport, verifyReportSignature } from '../../../proxy/report/signature.js';

describe('report signatures', () => {
  const now = 1_800_000_000_000;
  const ts = String(now / 1000);
  const body = '{"status":"downloaded"}';

  it('verifies what it signs', () => {
    expect(verifyReportSignature('k', ts, body, signReport('k', ts, body), { now })).toBe(true);
  });
  it('rejects a changed body, another secret, a missing header and a stale timestamp', () => {
    const sig = signReport('k', ts, body);
    expect(verifyReportSignature('k', ts, body + ' ', sig, { now })).toBe(false);
    expect(verifyReportSignature('other', ts, body, sig, { now })).toBe(false);
    expect(verifyReportSignature('k', undefined, body, sig, { now })).toBe(false);
    expect(verifyReportSignature('k', ts, body, sig, { now: now + 301_000 })).toBe(false);
  });
});
