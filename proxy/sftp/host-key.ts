import { createHash, timingSafeEqual } from 'node:crypto';

const PREFIX = 'SHA256:';

/** OpenSSH-style fingerprint of a raw host key blob: 'SHA256:' + base64 (no '=' padding) of sha256(key). */
export function fingerprintOf(hostKey: Buffer): string {
  return PREFIX + createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '');
}

/** Decodes 'SHA256:<base64>' (padding optional, surrounding blanks ignored) to the 32 digest bytes, else undefined. */
function digestOf(fingerprint: string): Buffer | undefined {
  const trimmed = fingerprint.trim();
  if (!trimmed.startsWith(PREFIX)) return undefined;
  const b64 = trimmed.slice(PREFIX.length).replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]{43}$/.test(b64)) return undefined;
  const digest = Buffer.from(b64, 'base64');
  return digest.length === 32 ? digest : undefined;
}

/** True when both are the same SHA256 fingerprint; tolerant of missing padding, compares in constant time. */
export function fingerprintsEqual(a: string, b: string): boolean {
  const da = digestOf(a);
  const db = digestOf(b);
  if (!da || !db) return false;
  return timingSafeEqual(da, db);
}

/** True when the text has the shape of an OpenSSH SHA256 fingerprint. */
export function isFingerprint(text: string): boolean {
  return digestOf(text) !== undefined;
}
