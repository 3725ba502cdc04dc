import { randomBytes } from 'node:crypto';
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { inject } from 'vitest';

export interface TestDatabase {
  client: MongoClient;
  db: Db;
  name: string;
  /** Drops the database and closes the client. */
  drop(): Promise<void>;
}

/**
 * A fresh database on the run's shared server (see global-db.ts), named `<prefix>_<random>`: unique per call, short
 * (FerretDB's SQLite backend keeps one file per database). With `onCommand`, its client reports every command it
 * starts (for tests that assert which writes or filters were sent).
 */
export async function testDatabase(prefix: string, options: { onCommand?: (e: CommandStartedEvent) => void } = {}): Promise<TestDatabase> {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 20) || 't';
  const name = `${clean}_${randomBytes(4).toString('hex')}`;
  const client = new MongoClient(inject('mongoUri'), { serverSelectionTimeoutMS: 10_000, monitorCommands: options.onCommand !== undefined });
  if (options.onCommand) client.on('commandStarted', options.onCommand);
  await client.connect();
  const db = client.db(name);
  return {
    client,
    db,
    name,
    drop: async () => {
      try {
        await db.dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}
