import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-retention-timestamp';
export const SIGNATURE_HEADER = 'x-retention-signature';

/** HMAC-SHA256 over `${timestamp}.${body}`, hex, prefixed `v1=`. See docs/vendor-api.md. */
export function signReport(secret: string, timestamp: string, body: string): string {
  return 'v1=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** Verifies a signature and that the timestamp (unix seconds) is within `toleranceSeconds` of `now`. */
export function verifyReportSignature(
  secret: string,
  timestamp: string | undefined,
  body: string,
  signature: string | undefined,
  options: { now?: number; toleranceSeconds?: number } = {},
): boolean {
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = options.now ?? Date.now();
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(now / 1000 - Number(timestamp)) > tolerance) return false;
  const expected = Buffer.from(signReport(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
