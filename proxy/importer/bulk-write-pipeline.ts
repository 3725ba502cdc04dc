import type { Db, Document, WriteConcernSettings } from 'mongodb';
import { databaseError } from '../db/connect.js';
import { pointQueriesOnly } from './point-queries.js';
import { upsertBatch, type ReplaceHooks } from './upsert-batch.js';

/**
 * Keeps up to `maxInFlight` batch writes (see upsertBatch) running while the caller parses the next batch. The first failure is
 * kept and thrown by the next `submit` or by `drain` (never left as an unhandled rejection).
 */
export class BulkWritePipeline {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly db: Db,
    private readonly writeConcern: WriteConcernSettings,
    private readonly maxInFlight: number,
    private readonly onWritten: (collection: string, count: number) => void,
    /** Per collection: what to do before stored records are replaced (upsertBatch). */
    private readonly replaceHooks: (collection: string) => ReplaceHooks | undefined = () => undefined,
  ) {}

  /** Starts writing `docs` (upsert by _id); waits first when the pipeline is full. */
  async submit(collection: string, docs: Document[]): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight.size >= this.maxInFlight) {
      await Promise.race(this.inFlight);
      this.throwIfFailed();
    }
    const write = pointQueriesOnly(this.db)
      .then((pointOnly) => upsertBatch(this.db.collection(collection), docs, this.writeConcern, this.replaceHooks(collection), pointOnly))
      .then(
        () => this.onWritten(collection, docs.length),
        (err: unknown) => {
          this.failure ??= { error: databaseError(err, `writing ${docs.length} records to ${collection}`) };
        },
      )
      .finally(() => this.inFlight.delete(write));
    this.inFlight.add(write);
  }

  /** Waits for every write; throws the first failure. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  /** Waits for every write, ignoring failures (used on the error path so no write outlives the import). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
