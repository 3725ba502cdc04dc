import type { Db, Document, WriteConcernSettings } from 'mongodb';
import { databaseError } from '../db/connect.js';
import { pointQueriesOnly } from './point-queries.js';
import { idKey, upsertBatch, type ReplaceHooks } from './upsert-batch.js';

/**
 * Keeps up to `maxInFlight` batch writes (see upsertBatch) running while the caller parses the next batch. The first failure is
 * kept and thrown by the next `submit` or by `drain` (never left as an unhandled rejection).
 *
 * A batch that holds an `_id` of a batch still being written to the same collection waits for that one first: a record
 * repeated within an archive ends as its LAST version (upsert-batch.ts), which two concurrent writes would leave to
 * chance (the later version inserted first, then the earlier one replacing it as "other content").
 */
export class BulkWritePipeline {
  private readonly inFlight = new Map<Promise<void>, { collection: string; ids: ReadonlySet<string> }>();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly db: Db,
    private readonly writeConcern: WriteConcernSettings,
    private readonly maxInFlight: number,
    private readonly onWritten: (collection: string, count: number) => void,
    /** Per collection: what to do before stored records are replaced (upsertBatch). */
    private readonly replaceHooks: (collection: string) => ReplaceHooks | undefined = () => undefined,
  ) {}

  /** Starts writing `docs` (upsert by _id); waits first when the pipeline is full or holds one of these `_id`s. */
  async submit(collection: string, docs: Document[]): Promise<void> {
    this.throwIfFailed();
    // A record without `_id` gets a fresh one from the driver: it can share nothing with another batch.
    const ids = new Set(docs.filter((d) => d._id !== undefined).map((d) => idKey(d._id)));
    for (;;) {
      const overlapping = [...this.inFlight].filter(([, w]) => w.collection === collection && sharesAny(w.ids, ids)).map(([p]) => p);
      if (overlapping.length === 0 && this.inFlight.size < this.maxInFlight) break;
      await Promise.race(overlapping.length > 0 ? overlapping : this.inFlight.keys());
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
    this.inFlight.set(write, { collection, ids });
  }

  /** Waits for every write; throws the first failure. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight.keys());
    this.throwIfFailed();
  }

  /** Waits for every write, ignoring failures (used on the error path so no write outlives the import). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight.keys());
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

function sharesAny(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (large.has(x)) return true;
  return false;
}
