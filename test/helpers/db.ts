import { randomBytes } from 'node:crypto';
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { afterAll, beforeAll, inject } from 'vitest';

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

/** One client for a describe block that records every command it starts, and fresh databases dropped after it. */
export interface MonitoredClient {
  /** The connected client (after beforeAll). */
  readonly client: MongoClient;
  /** Every command the client has started, in order (tests may clear it). */
  readonly commands: CommandStartedEvent[];
  /** A new database `<prefix>_<name>_<random>` on the client, dropped in afterAll. */
  readonly freshDb: (name: string) => Db;
}

/** Registers the describe block's beforeAll/afterAll: connect a monitored client; drop its databases, close it. */
export function useMonitoredClient(prefix: string): MonitoredClient {
  let client: MongoClient | undefined;
  const commands: CommandStartedEvent[] = [];
  const dbs: Db[] = [];
  beforeAll(async () => {
    client = new MongoClient(inject('mongoUri'), { monitorCommands: true, serverSelectionTimeoutMS: 10_000 });
    client.on('commandStarted', (e) => commands.push(e));
    await client.connect();
  });
  afterAll(async () => {
    for (const db of dbs) await db.dropDatabase().catch(() => undefined);
    await client?.close();
  });
  const connected = (): MongoClient => {
    if (!client) throw new Error('useMonitoredClient: used before beforeAll connected it');
    return client;
  };
  return {
    get client() {
      return connected();
    },
    commands,
    freshDb: (name) => {
      const db = connected().db(`${prefix}_${name}_${randomBytes(3).toString('hex')}`);
      dbs.push(db);
      return db;
    },
  };
}
