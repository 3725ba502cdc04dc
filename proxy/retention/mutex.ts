/**
 * A process-local mutex: retention batches and the importer's record writes on one process never interleave
 * (an import must not re-create a record between a batch's tombstone and its delete, and a batch must not archive
 * a record an import is replacing). Across nodes only the HA leader does either.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
