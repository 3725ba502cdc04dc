import type { Collection } from 'mongodb';
import { databaseError } from '../db/connect.js';
import { dbCall } from '../db/write-concern.js';
import { ProxyError } from '../errors.js';
import type { ResolvedDeps } from './deps.js';
import { validatePolicyInput, validatePolicyPatch } from './validate.js';
import { RETENTION_COLLECTIONS, type Actor, type ConfigPolicy, type Policy, type PolicyMode, type PolicyPatch } from './types.js';

/** `retention.policies`: portal policies (editable) and config policies (read-only in the portal). */
export class PolicyStore {
  readonly col: Collection<Policy>;

  constructor(private readonly deps: ResolvedDeps) {
    this.col = deps.db.collection<Policy>(RETENTION_COLLECTIONS.policies);
  }

  list(): Promise<Policy[]> {
    return dbCall('listing retention policies', () => this.col.find({}).sort({ _id: 1 }).toArray());
  }

  async get(id: string): Promise<Policy> {
    const p = await dbCall('reading a retention policy', () => this.col.findOne({ _id: id }));
    if (!p) throw new ProxyError('NOT_FOUND', `retention policy ${id}`);
    return p;
  }

  private async editable(id: string): Promise<Policy> {
    const p = await this.get(id);
    if (p.source === 'config') throw new ProxyError('POLICY_READ_ONLY', `${id} is set in retention.policies of the configuration`);
    return p;
  }

  async create(raw: unknown, actor: Actor): Promise<Policy> {
    const input = validatePolicyInput(raw);
    const now = this.deps.now();
    const { id, ...rest } = input;
    const doc: Policy = { _id: id, ...rest, mode: 'dry-run', source: 'portal', createdAt: now, createdBy: actor, updatedAt: now, updatedBy: actor };
    try {
      await this.col.insertOne(doc, { writeConcern: this.deps.writeConcern });
    } catch (err) {
      if ((err as { code?: number }).code === 11000) throw new ProxyError('POLICY_EXISTS', id);
      throw databaseError(err, 'creating a retention policy');
    }
    return doc;
  }

  async update(id: string, raw: unknown, actor: Actor): Promise<Policy> {
    const p = await this.editable(id);
    const patch: PolicyPatch = validatePolicyPatch(p.dataType, raw);
    return this.write(id, { ...patch, updatedAt: this.deps.now(), updatedBy: actor }, {});
  }

  async setMode(id: string, mode: PolicyMode, confirm: string | undefined, actor: Actor): Promise<Policy> {
    if (mode !== 'enforce' && mode !== 'dry-run') throw new ProxyError('VALIDATION', 'mode must be enforce or dry-run');
    const p = await this.editable(id);
    if (mode === 'enforce' && confirm !== p.name) {
      throw new ProxyError('CONFIRMATION_MISMATCH', `type the policy name "${p.name}" to switch it to enforce`);
    }
    const now = this.deps.now();
    if (mode === 'enforce') return this.write(id, { mode, updatedAt: now, updatedBy: actor, enforcedAt: now, enforcedBy: actor }, {});
    return this.write(id, { mode, updatedAt: now, updatedBy: actor }, { enforcedAt: '', enforcedBy: '' });
  }

  async remove(id: string): Promise<void> {
    await this.editable(id);
    await dbCall('deleting a retention policy', () => this.col.deleteOne({ _id: id, source: 'portal' }, { writeConcern: this.deps.writeConcern }));
  }

  private async write(id: string, set: Partial<Policy>, unset: Record<string, ''>): Promise<Policy> {
    const updated = await dbCall('updating a retention policy', () =>
      this.col.findOneAndUpdate({ _id: id, source: 'portal' }, { $set: set, ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}) }, { returnDocument: 'after', writeConcern: this.deps.writeConcern }),
    );
    if (!updated) throw new ProxyError('NOT_FOUND', `retention policy ${id}`);
    return updated;
  }

  /**
   * The configuration's policies, upserted with source 'config'; config policies no longer configured are removed.
   * A portal policy with the same id is refused (CONFIG_INVALID) rather than silently taken over.
   */
  async syncConfig(policies: readonly ConfigPolicy[]): Promise<void> {
    const now = this.deps.now();
    const ids = policies.map((p) => p.id);
    const clash = await dbCall('reading retention policies', () => this.col.find({ _id: { $in: ids }, source: 'portal' }, { projection: { _id: 1 } }).toArray());
    if (clash.length > 0) {
      throw new ProxyError('CONFIG_INVALID', `retention.policies: ${clash.map((c) => c._id).join(', ')} already exist as portal policies; choose other ids`);
    }
    for (const [i, raw] of policies.entries()) {
      let input;
      try {
        input = validatePolicyInput(raw);
      } catch (err) {
        throw new ProxyError('CONFIG_INVALID', `retention.policies[${i}] (${String(raw.id)}): ${(err as Error).message}`);
      }
      const mode = raw.mode === 'enforce' ? 'enforce' : 'dry-run';
      const existing = await this.col.findOne({ _id: input.id });
      const { id, ...rest } = input;
      const changedMode = existing?.mode !== mode;
      await dbCall('writing a config retention policy', () =>
        this.col.updateOne(
          { _id: id, source: 'config' },
          {
            $set: { ...rest, mode, source: 'config', updatedAt: existing ? existing.updatedAt : now, updatedBy: 'config', ...(mode === 'enforce' && changedMode ? { enforcedAt: now, enforcedBy: 'config' } : {}) },
            $setOnInsert: { createdAt: now, createdBy: 'config' },
            ...(mode === 'dry-run' ? { $unset: { enforcedAt: '', enforcedBy: '' } } : {}),
          },
          { upsert: true, writeConcern: this.deps.writeConcern },
        ),
      );
    }
    await dbCall('removing config retention policies', () => this.col.deleteMany({ source: 'config', _id: { $nin: ids } }, { writeConcern: this.deps.writeConcern }));
  }
}
