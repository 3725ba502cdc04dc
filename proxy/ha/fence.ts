import type { Collection, Document } from 'mongodb';
import { ProxyError } from '../errors.js';
import type { Fence } from './lease.js';

/**
 * Fencing for job and outbox writes. With HA each such document carries `fence`, the token of the last leader that
 * wrote it; a write goes through only where `fence <= myToken` (a missing fence counts as 0) and stamps `myToken`.
 * A leader that lost its lease (paused, cut off) and wakes up later holds a smaller token than the one the new
 * leader stamped: its late write matches nothing and becomes LEASE_LOST. Without HA (`fence` undefined) nothing changes.
 */
export interface FenceGuard {
  token: number | undefined;
  filter: { fence?: { $not: { $gt: number } } };
  set: { fence?: number };
}

export function fenceGuard(fence: Fence | undefined): FenceGuard {
  if (!fence) return { token: undefined, filter: {}, set: {} };
  const token = fence.token(); // LEASE_LOST when this node is not the leader: nothing is written
  return { token, filter: { fence: { $not: { $gt: token } } }, set: { fence: token } };
}

/** After a guarded write matched nothing: LEASE_LOST if a newer leader has fenced the document off. */
export async function throwIfFenced<T extends Document & { _id: string; fence?: number }>(col: Collection<T>, id: string, guard: FenceGuard): Promise<void> {
  if (guard.token === undefined) return;
  const doc = (await col.findOne({ _id: id } as never, { projection: { fence: 1 } })) as { fence?: number } | null;
  if (doc?.fence !== undefined && doc.fence > guard.token) {
    throw new ProxyError('LEASE_LOST', `${id} was taken over by a newer leader (token ${doc.fence} > ${guard.token})`, { details: { id, fence: doc.fence, token: guard.token } });
  }
}
