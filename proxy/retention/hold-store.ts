import { randomBytes } from 'node:crypto';
import type { Collection, Filter } from 'mongodb';
import { dbCall } from '../db/write-concern.js';
import { ProxyError } from '../errors.js';
import type { ResolvedDeps } from './deps.js';
import { resolveCoverage } from './hold-filter.js';
import type { DispositionLock } from './lock.js';
import { validateHoldScope, validateText } from './validate.js';
import { RETENTION_COLLECTIONS, type Actor, type Hold } from './types.js';

/** How long placing a hold waits for a running disposition batch to finish. */
const PLACE_WAIT_MS = 30_000;

/** `retention.holds`: legal holds. Placing one takes the disposition lock, so no batch writes across it. */
export class HoldStore {
  readonly col: Collection<Hold>;

  constructor(private readonly deps: ResolvedDeps, private readonly lock: DispositionLock) {
    this.col = deps.db.collection<Hold>(RETENTION_COLLECTIONS.holds);
  }

  list(state?: 'active' | 'released'): Promise<Hold[]> {
    const filter: Filter<Hold> = state === 'active' ? { releasedAt: { $exists: false } } : state === 'released' ? { releasedAt: { $exists: true } } : {};
    return dbCall('listing legal holds', () => this.col.find(filter).sort({ createdAt: -1, _id: 1 }).toArray());
  }

  active(): Promise<Hold[]> {
    return this.list('active');
  }

  /**
   * The holds a run that started at `since` obeys, read fresh before every disposition batch: the active ones and
   * those released after the run started (a release takes effect at the next run, not within the one under way).
   */
  activeSince(since: Date): Promise<Hold[]> {
    const filter: Filter<Hold> = { $or: [{ releasedAt: { $exists: false } }, { releasedAt: { $gt: since } }] };
    return dbCall('reading legal holds', () => this.col.find(filter).toArray());
  }

  async get(id: string): Promise<Hold> {
    const h = await dbCall('reading a legal hold', () => this.col.findOne({ _id: id }));
    if (!h) throw new ProxyError('NOT_FOUND', `legal hold ${id}`);
    return h;
  }

  async create(raw: unknown, actor: Actor): Promise<Hold> {
    if (typeof raw !== 'object' || raw === null) throw new ProxyError('VALIDATION', 'hold must be an object');
    const r = raw as Record<string, unknown>;
    const hold: Hold = {
      _id: randomBytes(9).toString('base64url'),
      name: validateText('name', r.name, 200),
      reason: validateText('reason', r.reason, 2000),
      scope: validateHoldScope(r.scope),
      createdAt: this.deps.now(),
      createdBy: actor,
    };
    // Resolved once before placing it: HOLD_TOO_LARGE when it covers more than the filters can carry.
    await resolveCoverage(this.deps.db, hold);
    // Under the lock: once this returns, every later batch reads this hold before it writes.
    await this.lock.with(`placing hold ${hold._id}`, PLACE_WAIT_MS, async () => {
      await dbCall('placing a legal hold', () => this.col.insertOne(hold, { writeConcern: this.deps.writeConcern }));
    });
    return hold;
  }

  async release(id: string, reasonRaw: unknown, actor: Actor): Promise<Hold> {
    const reason = validateText('reason', reasonRaw, 2000);
    const hold = await this.get(id);
    if (hold.releasedAt) throw new ProxyError('HOLD_RELEASED', id);
    const updated = await dbCall('releasing a legal hold', () =>
      this.col.findOneAndUpdate(
        { _id: id, releasedAt: { $exists: false } },
        { $set: { releasedAt: this.deps.now(), releasedBy: actor, releaseReason: reason } },
        { returnDocument: 'after', writeConcern: this.deps.writeConcern },
      ),
    );
    if (!updated) throw new ProxyError('HOLD_RELEASED', id);
    return updated;
  }
}
