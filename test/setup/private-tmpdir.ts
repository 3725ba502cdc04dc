import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Every test file gets its own temporary folder, removed after the file (even when a test forgot its own clean-up,
 * or failed half-way): `TMPDIR` points at it, so `os.tmpdir()` in the tests and in every child process they start
 * (sshd, the CLI, 7z...) writes there. Mode 0711: other users cannot list it, so the Archive Keys, private keys and
 * passwords the tests write (0600 themselves) are not found by name either; a service user of a sandboxed test can
 * still reach a path it is given.
 */
const outer = tmpdir();
const previous = process.env.TMPDIR;
const dir = mkdtempSync(join(outer, 'rp-test-'));
chmodSync(dir, 0o711);
process.env.TMPDIR = dir;
process.env.RP_TEST_TMPDIR = dir;

afterAll(() => {
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  delete process.env.RP_TEST_TMPDIR;
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});
