import type { Db } from 'mongodb';
import type { Outbox } from './outbox.js';

export interface DatabaseProbe { database: 'ok' | 'unreachable'; outboxDepth: number | null }

/** Pings the database (2 s budget) and reads the report outbox depth; never throws. */
export async function probeDatabase(db: Db, outbox: Outbox): Promise<DatabaseProbe> {
  try {
    await db.command({ ping: 1 }, { timeoutMS: 2000 });
    return { database: 'ok', outboxDepth: await outbox.depth() };
  } catch {
    return { database: 'unreachable', outboxDepth: null };
  }
}
