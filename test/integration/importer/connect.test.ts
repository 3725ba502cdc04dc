import { createServer } from 'node:net';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { connectDatabase } from '../../../proxy/db/connect.js';

const log = pino({ level: 'silent' });

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 1));
    });
  });
}

describe('connectDatabase', () => {
  it('connects to the test database with majority write concern', async () => {
    const { client, db } = await connectDatabase({ uri: inject('mongoUri'), database: 'connect_t', writeConcernTimeoutMs: 5000, appName: 'rp-test' }, log);
    try {
      expect(db.databaseName).toBe('connect_t');
      expect(db.writeConcern?.w).toBe('majority');
      expect((await db.command({ ping: 1 })).ok).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('DB_UNAVAILABLE when nothing listens', async () => {
    const port = await closedPort();
    await expect(
      connectDatabase({ uri: `mongodb://127.0.0.1:${port}/?directConnection=true`, database: 'x', writeConcernTimeoutMs: 1000, serverSelectionTimeoutMs: 500 }, log),
    ).rejects.toMatchObject({ code: 'DB_UNAVAILABLE' });
  });

  it('CONFIG_INVALID for a password without a user in the URI, and for an unparsable URI', async () => {
    await expect(
      connectDatabase({ uri: 'mongodb://127.0.0.1:1/', database: 'x', password: 'secret', writeConcernTimeoutMs: 1000 }, log),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(connectDatabase({ uri: 'http://nope', database: 'x', writeConcernTimeoutMs: 1000 }, log)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
