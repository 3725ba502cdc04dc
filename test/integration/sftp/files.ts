/** Small helpers shared by the SFTP integration tests. */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import pino from 'pino';

export const silentLog = pino({ level: 'silent' });

export async function writeRandom(path: string, size: number): Promise<{ data: Buffer; sha256: string }> {
  const data = randomBytes(size);
  await writeFile(path, data);
  return { data, sha256: createHash('sha256').update(data).digest('hex') };
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** Runs `fn` and returns the `code` of what it threw (fails the test when it did not throw). */
export async function codeOfRejection(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return (err as { code?: string }).code ?? `not a ProxyError: ${String(err)}`;
  }
  throw new Error('expected a rejection');
}
