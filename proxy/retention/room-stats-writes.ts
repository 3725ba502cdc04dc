import type { Document } from 'mongodb';
import { markRoomsDirty, refreshDirtyRooms, refreshRooms, roomIdsOf, ROOM_STAT_SOURCES } from '../portal/room-stats.js';
import type { ResolvedDeps } from './deps.js';

const COUNTED: ReadonlySet<string> = new Set(ROOM_STAT_SOURCES.map((s) => s.collection));

/**
 * A retention write (archive, destroy, restore) on records of `collection` that may change room statistics
 * (portal/room-stats.ts): the rooms of `docs` are marked dirty and `live` first (the portal counts them live, so no
 * auditor sees a count that includes an archived record), then `write` runs. `refresh: 'now'` recomputes the rooms
 * right after (which clears both marks); 'later': the caller calls refreshRetentionRooms once after its batches (a
 * room is recomputed once per policy run, not once per batch). Other collections: just `write`.
 */
export async function roomStatsWrite<T>(
  deps: Pick<ResolvedDeps, 'db' | 'writeConcern' | 'now'>, collection: string, docs: readonly Document[], write: () => Promise<T>, refresh: 'now' | 'later' = 'later',
): Promise<T> {
  if (!COUNTED.has(collection)) return write();
  const rooms = roomIdsOf(docs);
  if (rooms.length > 0) await markRoomsDirty(deps.db, rooms, deps.writeConcern, { live: true });
  const result = await write();
  if (rooms.length > 0 && refresh === 'now') await refreshRooms(deps.db, rooms, deps.writeConcern, deps.now);
  return result;
}

/**
 * Recomputes every room still marked (after a policy's batches), under the process's record-write mutex: never beside
 * an import's writes, whose room statistics rest on record writers taking turns on FerretDB (room-stats.ts,
 * storeWhereMarked).
 */
export async function refreshRetentionRooms(deps: Pick<ResolvedDeps, 'db' | 'writeConcern' | 'now' | 'recordWrites'>, signal?: AbortSignal): Promise<void> {
  await deps.recordWrites.run(() => refreshDirtyRooms(deps.db, deps.writeConcern, { now: deps.now, ...(signal ? { signal } : {}) }));
}
