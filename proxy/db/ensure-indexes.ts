import type { Collection, CreateIndexesOptions, Document, IndexSpecification } from 'mongodb';
import { dbCall } from './write-concern.js';

export interface IndexSpec { name: string; key: IndexSpecification; options?: Omit<CreateIndexesOptions, 'name'> }

/**
 * Creates the indexes that are missing, one at a time, by name. Idempotent. (Creating several at once when some
 * already exist crashes FerretDB 1.24's connection; one createIndex per missing index works everywhere.)
 */
export async function ensureIndexes<T extends Document>(col: Collection<T>, specs: readonly IndexSpec[]): Promise<void> {
  const existing = await dbCall(`list indexes of ${col.collectionName}`, async () => {
    try {
      return new Set((await col.listIndexes().toArray()).map((i) => String((i as { name?: unknown }).name)));
    } catch (err) {
      if ((err as { codeName?: string }).codeName === 'NamespaceNotFound' || (err as { code?: number }).code === 26) return new Set<string>();
      throw err;
    }
  });
  for (const spec of specs) {
    if (existing.has(spec.name)) continue;
    await dbCall(`create index ${spec.name} on ${col.collectionName}`, () => col.createIndex(spec.key, { ...spec.options, name: spec.name }));
  }
}
