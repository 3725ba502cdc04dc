import { BSON, type Db, type Document } from 'mongodb';
import type { Logger } from 'pino';
import { MEDIA_BUCKET } from './entry-mapping.js';

// Names of the retention collections (proxy/retention/types.ts owns them; repeated here so the importer does not
// depend on the retention service).
const TOMBSTONES = 'retention.tombstones';
const RUNS = 'retention.runs';
const STAFF_LIKE = new Set(['lc-data-server.staff', 'dynamic-phonebook.contacts']);

const stoneId = (collection: string, id: unknown): string => `${collection}|${BSON.EJSON.stringify(id, { relaxed: false })}`;

/**
 * Retention on import (docs/retention.md): a destroyed record or binary (tombstoned in `retention.tombstones`) is
 * never written again, and an archived record stays archived when an archive brings it again (its `_archived`
 * mark is carried into the replacement). Staff and contacts delivered again by a newer archive than the one they
 * were archived after are active again (they age from their last delivery). Counts what it skipped.
 */
export class DispositionFilter {
  /** Documents skipped per collection (media: `media.files`). */
  readonly skipped: Record<string, number> = {};

  private constructor(private readonly db: Db, private tombstones: boolean, private archived: boolean) {}

  /** Looks whether there is anything to filter (almost no cost for a site that never ran an enforcing policy). */
  static async open(db: Db): Promise<DispositionFilter> {
    const f = new DispositionFilter(db, false, false);
    await f.refresh();
    return f;
  }

  /**
   * Looks again while nothing was found: a retention run (e.g. from the CLI in another process) may write its first
   * tombstones or archive marks while this import is under way; every batch then sees them.
   */
  private async refresh(): Promise<void> {
    if (this.tombstones && this.archived) return;
    const [stone, run] = await Promise.all([
      this.tombstones ? null : this.db.collection(TOMBSTONES).findOne({}, { projection: { _id: 1 } }),
      this.archived ? null : this.db.collection(RUNS).findOne({ planOnly: false }, { projection: { _id: 1 } }),
    ]);
    this.tombstones ||= stone !== null;
    this.archived ||= run !== null;
  }

  get total(): number {
    return Object.values(this.skipped).reduce((a, b) => a + b, 0);
  }

  /** The batch without tombstoned records; archived ones keep their mark. */
  async records(collection: string, docs: Document[], archiveCreatedAt: Date | undefined): Promise<Document[]> {
    // The archive mark is the proxy's alone (parseRecord rejects it too): never take one from a delivery.
    for (const d of docs) delete d._archived;
    if (docs.length === 0) return docs;
    await this.refresh();
    if (!this.tombstones && !this.archived) return docs;
    const ids: unknown[] = docs.map((d) => d._id as unknown);
    let kept = docs;
    if (this.tombstones) {
      const gone = new Set((await this.db.collection<{ _id: string }>(TOMBSTONES).find({ _id: { $in: ids.map((id) => stoneId(collection, id)) } }, { projection: { _id: 1 } }).toArray()).map((t) => t._id));
      if (gone.size > 0) {
        kept = docs.filter((d) => !gone.has(stoneId(collection, d._id)));
        this.skipped[collection] = (this.skipped[collection] ?? 0) + (docs.length - kept.length);
      }
    }
    if (this.archived && kept.length > 0) {
      const byId: Document = { _id: { $in: kept.map((d) => d._id as unknown) }, _archived: { $exists: true } };
      const marks = new Map((await this.db.collection(collection).find(byId, { projection: { _archived: 1 } }).toArray()).map((d) => [stoneId(collection, d._id), d._archived as { at?: Date }]));
      if (marks.size > 0) {
        for (const d of kept) {
          const mark = marks.get(stoneId(collection, d._id));
          if (!mark) continue;
          const redelivered = STAFF_LIKE.has(collection) && archiveCreatedAt !== undefined && mark.at instanceof Date && archiveCreatedAt > mark.at;
          if (!redelivered) d._archived = mark;
        }
      }
    }
    return kept;
  }

  /** Which of `ids` (records of `collection`) are tombstoned: what `records` drops (plan-call-times.ts asks). */
  async destroyed(collection: string, ids: readonly unknown[]): Promise<(id: unknown) => boolean> {
    if (ids.length === 0) return () => false;
    await this.refresh();
    if (!this.tombstones) return () => false;
    const gone = new Set((await this.db.collection<{ _id: string }>(TOMBSTONES).find({ _id: { $in: ids.map((id) => stoneId(collection, id)) } }, { projection: { _id: 1 } }).toArray()).map((t) => t._id));
    return (id) => gone.has(stoneId(collection, id));
  }

  /** The binaries whose archive path is not tombstoned. */
  async media<T extends { path: string }>(files: readonly T[]): Promise<T[]> {
    if (files.length === 0) return [];
    await this.refresh();
    if (!this.tombstones) return [...files];
    const col = `${MEDIA_BUCKET}.files`;
    const gone = new Set<string>();
    for (let i = 0; i < files.length; i += 1000) {
      const ids = files.slice(i, i + 1000).map((f) => stoneId(col, f.path));
      for (const t of await this.db.collection<{ _id: string }>(TOMBSTONES).find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()) gone.add(t._id);
    }
    const kept = files.filter((f) => !gone.has(stoneId(col, f.path)));
    if (kept.length < files.length) this.skipped[col] = (this.skipped[col] ?? 0) + files.length - kept.length;
    return kept;
  }

  log(log: Logger): void {
    if (this.total > 0) log.info({ skippedTombstoned: this.skipped }, 'records and media destroyed by retention were not imported again');
  }
}
