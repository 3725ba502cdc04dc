import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../../proxy/vendor-sim/sftp/host-key.js';

describe('generateEd25519KeyPair', () => {
  // ssh2's own generator makes about 1 unparsable pair in 256 (mscdex/ssh2 #1513): 2000 pairs would hit it ~8 times.
  it('returns only pairs whose private and public halves ssh2 parses, every time', () => {
    for (let i = 0; i < 2000; i++) {
      const pair = generateEd25519KeyPair();
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
      expect(ssh2.utils.parseKey(pair.public)).not.toBeInstanceOf(Error);
    }
  });
});
