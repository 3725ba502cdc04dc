import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';

const { utils } = ssh2;

export function parseKeyOrThrow(text: string | Buffer, what: string): ParsedKey {
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error) throw new Error(`${what} is not a valid SSH key: ${parsed.message}`);
  return parsed;
}

/** A fresh ed25519 host key in OpenSSH private-key format. */
export function generateHostKey(): string {
  return utils.generateKeyPairSync('ed25519').private;
}

/** 'SHA256:' + unpadded base64 of SHA-256 of the public key blob, as `ssh-keygen -lf` prints it. */
export function hostKeyFingerprint(key: ParsedKey): string {
  return 'SHA256:' + createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '');
}
