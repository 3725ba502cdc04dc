import { ProxyError } from '../errors.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signReport } from './signature.js';

export interface VendorEndpoint {
  statusUrl: string;
  signingSecret: string;
  timeoutMs: number;
}

/** POSTs one signed report body. Resolves on 2xx; VENDOR_UNREACHABLE or VENDOR_REJECTED otherwise (both retried). */
export async function sendReport(endpoint: VendorEndpoint, reportId: string, body: string, now: () => number = Date.now): Promise<void> {
  const timestamp = String(Math.floor(now() / 1000));
  let res: Response;
  try {
    res = await fetch(endpoint.statusUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: signReport(endpoint.signingSecret, timestamp, body),
        'idempotency-key': reportId,
      },
      body,
      signal: AbortSignal.timeout(endpoint.timeoutMs),
    });
  } catch (err) {
    throw new ProxyError('VENDOR_UNREACHABLE', (err as Error).message, { cause: err });
  }
  // Drain the body so the connection can be reused.
  const text = await res.text().catch(() => '');
  if (res.status < 200 || res.status >= 300) {
    throw new ProxyError('VENDOR_REJECTED', `HTTP ${res.status} ${text.slice(0, 200)}`, { details: { status: res.status } });
  }
}

/** GET the vendor's health endpoint next to the status URL (used by `check`). */
export async function probeVendor(endpoint: VendorEndpoint): Promise<number> {
  const url = new URL('health', endpoint.statusUrl.endsWith('/') ? endpoint.statusUrl : endpoint.statusUrl.replace(/[^/]*$/, ''));
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(endpoint.timeoutMs) });
    await res.text().catch(() => '');
    return res.status;
  } catch (err) {
    throw new ProxyError('VENDOR_UNREACHABLE', (err as Error).message, { cause: err });
  }
}
