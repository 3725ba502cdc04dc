import type { Collection } from 'mongodb';
import type { JobDoc } from './jobs.js';

/** One UTC day of the sync history (docs/portal-api.md, `GET /api/v1/sync/history`). */
export interface HistoryDay {
  /** YYYY-MM-DD (UTC). */
  day: string;
  /** Archives that reached `imported` that day. */
  archives: number;
  /** Their records (`totalRecords`). */
  records: number;
  /** Their archive sizes. */
  bytes: number;
  /** Sum over them of the time from their first download start to imported (retries and waits included). */
  durationMs: number;
  /** Archives that failed for good that day. */
  failed: number;
}

export interface SyncHistory {
  from: string;
  to: string;
  days: HistoryDay[];
  /** More jobs changed in the window than one answer reads (MAX_JOBS): the counts are a lower bound. */
  truncated: boolean;
}

/** At most this many job documents are read for one history (a site makes about one archive a day). */
export const MAX_JOBS = 5000;
const DAY_MS = 86_400_000;

type HistoryJob = Pick<JobDoc, 'history' | 'bytes' | 'remoteSize' | 'totalRecords'>;

const dayOf = (d: Date): string => d.toISOString().slice(0, 10);

/**
 * Counts per UTC day, oldest first, every day of the window present (zeros included). Works over a projection in
 * bounded code rather than `$group`: FerretDB 1.24 lacks `$min`/`$max` accumulators, and the day an archive was
 * imported comes from its history array.
 */
export function historyDays(jobs: readonly HistoryJob[], now: Date, days: number): HistoryDay[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const out: HistoryDay[] = [];
  const byDay = new Map<string, HistoryDay>();
  for (let i = days - 1; i >= 0; i--) {
    const d: HistoryDay = { day: dayOf(new Date(today - i * DAY_MS)), archives: 0, records: 0, bytes: 0, durationMs: 0, failed: 0 };
    out.push(d);
    byDay.set(d.day, d);
  }
  for (const job of jobs) {
    const history = Array.isArray(job.history) ? job.history : [];
    const importedAt = history.findLast((h) => h.state === 'imported')?.at;
    const imported = importedAt instanceof Date ? byDay.get(dayOf(importedAt)) : undefined;
    if (imported && importedAt) {
      const started = history.find((h) => h.state === 'downloading' && h.at <= importedAt)?.at;
      imported.archives++;
      imported.records += job.totalRecords ?? 0;
      imported.bytes += job.bytes ?? job.remoteSize;
      if (started instanceof Date) imported.durationMs += importedAt.getTime() - started.getTime();
    }
    const failedAt = history.findLast((h) => h.state === 'failed')?.at;
    const failed = failedAt instanceof Date ? byDay.get(dayOf(failedAt)) : undefined;
    if (failed) failed.failed++;
  }
  return out;
}

/**
 * The last `days` UTC days (today included) of the jobs collection. Only jobs changed since the window started can
 * have been imported or failed in it (`updatedAt` only moves forward and is set at every transition): those are read,
 * newest first, at most MAX_JOBS, with a projection and the query time limit.
 */
export async function readSyncHistory(col: Collection<JobDoc>, now: Date, days: number, maxTimeMS: number): Promise<SyncHistory> {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (days - 1) * DAY_MS);
  const jobs = await col
    .find({ updatedAt: { $gte: from } }, { projection: { history: 1, bytes: 1, remoteSize: 1, totalRecords: 1 }, maxTimeMS })
    .sort({ updatedAt: -1 })
    .limit(MAX_JOBS + 1)
    .toArray();
  return { from: dayOf(from), to: dayOf(new Date(today)), days: historyDays(jobs.slice(0, MAX_JOBS), now, days), truncated: jobs.length > MAX_JOBS };
}
