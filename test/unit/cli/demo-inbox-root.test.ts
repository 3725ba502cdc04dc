import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { refuseRootInbox, startLoopbackInbox } from '../../../proxy/devsshd/loopback-inbox.js';

describe('demo --layout inbox as root', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is refused (USAGE) before anything is made: no unchrooted sshd logging keys in as root', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rp-demo-inbox-'));
    const err: unknown = await startLoopbackInbox(join(dir, 'inbox'), pino({ level: 'silent' }), 0).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'USAGE', message: expect.stringContaining('does not run as root') as string });
    expect(await readdir(dir)).toEqual([]);
    expect(() => refuseRootInbox(1000)).not.toThrow();
  });
});
