import type { Collection, Db } from 'mongodb';
import type { Logger } from 'pino';
import { ensureIndexes, type IndexSpec } from '../db/ensure-indexes.js';

/** Builds one index when it is missing (default: ensureIndexes). */
export type IndexBuilder = (collection: Collection, spec: IndexSpec) => Promise<void>;

/** What /readyz shows: the record indexes still to build (`collection.index`) and those that failed. */
export interface IndexBuildStatus { building: string[]; failed: string[] }

/**
 * The record collections' portal indexes, built in the background: on a large database (an upgrade, a first start
 * on existing data) they take longer than fastify's onReady timeout, and the portal must start anyway (slower lists
 * until they are there). One index at a time (FerretDB 1.24, see ensureIndexes); stop() lets the one in progress
 * finish and starts no other.
 */
export class IndexBuild {
  private readonly pending = new Set<string>();
  private readonly failed = new Set<string>();
  private stopped = false;
  private started = false;
  private running: Promise<void> = Promise.resolve();

  /** Starts the build once (a second call while it runs, or after it, does nothing). */
  start(db: Db, indexes: Readonly<Record<string, readonly IndexSpec[]>>, log: Logger, build: IndexBuilder = (col, spec) => ensureIndexes(col, [spec])): void {
    if (this.started) return;
    this.started = true;
    for (const [collection, specs] of Object.entries(indexes)) for (const spec of specs) this.pending.add(`${collection}.${spec.name}`);
    this.running = (async () => {
      for (const [collection, specs] of Object.entries(indexes)) {
        for (const spec of specs) {
          const key = `${collection}.${spec.name}`;
          if (this.stopped) return;
          try {
            await build(db.collection(collection), spec);
          } catch (err) {
            this.failed.add(key);
            log.error({ err, index: key }, 'portal index could not be built (retried at the next start)');
          } finally {
            this.pending.delete(key);
          }
        }
      }
      if (this.failed.size === 0) log.info('portal record indexes are built');
    })();
  }

  status(): IndexBuildStatus {
    return { building: [...this.pending], failed: [...this.failed] };
  }

  /** Resolves when the build has finished (or, after stop(), when the index in progress has). */
  settled(): Promise<void> {
    return this.running;
  }

  stop(): void {
    this.stopped = true;
  }
}
