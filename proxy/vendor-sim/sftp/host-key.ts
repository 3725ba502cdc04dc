import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';

const { utils } = ssh2;

export function parseKeyOrThrow(text: string | Buffer, what: string): ParsedKey {
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error) throw new Error(`${what} is not a valid SSH key: ${parsed.message}`);
  return parsed;
}

/**
 * A fresh ed25519 key pair in OpenSSH format that ssh2 itself can parse. ssh2 1.17's generateKeyPairSync('ed25519')
 * strips leading zero bytes of the public key, so about 1 key in 256 is malformed (mscdex/ssh2 #1390, #1513): such a
 * pair is thrown away and another generated (each try is independent, so more than a few never happen).
 */
export function generateEd25519KeyPair(): { private: string; public: string } {
  for (let attempt = 0; attempt < 16; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error('ssh2 produced no parsable ed25519 key pair in 16 attempts');
}

/** A fresh ed25519 host key in OpenSSH private-key format. */
export function generateHostKey(): string {
  return generateEd25519KeyPair().private;
}

/** 'SHA256:' + unpadded base64 of SHA-256 of the public key blob, as `ssh-keygen -lf` prints it. */
export function hostKeyFingerprint(key: ParsedKey): string {
  return 'SHA256:' + createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '');
}
