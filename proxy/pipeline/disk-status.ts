import type { Db } from 'mongodb';
import { JOBS_COLLECTION } from '../db/collections.js';
import type { JobDoc } from '../db/jobs.js';
import type { Staging } from './staging.js';

/** An archive whose last attempt stopped with DISK_FULL and that waits for its retry. */
export interface DiskWait {
  fileName: string;
  message: string;
  at: Date;
}

/** The staging disk as `check`, `/readyz` and `/metrics` show it. */
export interface DiskStatus {
  dir: string;
  /** null when statfs failed (e.g. the directory is gone). */
  freeBytes: number | null;
  reserveBytes: number;
  /** Free space is below `staging.minFreeBytes`: nothing is downloaded or extracted until it is freed. */
  belowReserve: boolean;
  /** At most 20, newest first. */
  waiting: DiskWait[];
  /** belowReserve, or an archive waits for space: an operator must free space (or move staging.dir). */
  full: boolean;
}

/** Free space and the archives that DISK_FULL holds back. A database error leaves `waiting` empty. */
export async function readDiskStatus(db: Db, staging: Staging, reserveBytes: number): Promise<DiskStatus> {
  const freeBytes = await staging.freeBytes().catch(() => null);
  const waiting = await db
    .collection<JobDoc>(JOBS_COLLECTION)
    .find({ 'error.code': 'DISK_FULL', state: { $nin: ['failed', 'reported'] } }, { projection: { fileName: 1, error: 1 } })
    .sort({ 'error.at': -1 })
    .limit(20)
    .toArray()
    .then((docs) => docs.map((d) => ({ fileName: d.fileName, message: d.error?.message ?? '', at: d.error?.at ?? new Date(0) })))
    .catch(() => [] as DiskWait[]);
  const belowReserve = freeBytes !== null && freeBytes < reserveBytes;
  return { dir: staging.root, freeBytes, reserveBytes, belowReserve, waiting, full: belowReserve || waiting.length > 0 };
}
