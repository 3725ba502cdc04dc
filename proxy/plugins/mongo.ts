import type { FastifyInstance } from 'fastify';
import type { Db, MongoClient } from 'mongodb';

export interface MongoPluginOptions { client: MongoClient; db: Db }

/** Owns the MongoDB client's lifetime: pings it once when ready, closes it when the server closes. */
export async function mongoPlugin(app: FastifyInstance, opts: MongoPluginOptions): Promise<void> {
  app.addHook('onReady', async () => {
    await opts.db.command({ ping: 1 });
  });
  app.addHook('onClose', async () => {
    await opts.client.close();
  });
  await Promise.resolve();
}
