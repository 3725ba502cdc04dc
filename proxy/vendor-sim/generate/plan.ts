import { seedOf } from './rng.js';

export type RecordLayout = 'lines' | 'array';

/** What to generate for one backup "day" of one service. */
export interface DayOptions {
  readonly serviceId: string;
  /** Retention job id (UUID); written to the manifest. */
  readonly jobId: string;
  /** Backup start time; the day covered is the 24 hours before it. */
  readonly createdAt: Date;
  /** Service-level seed: staff, contacts, shared rooms and tag icons are the same every day for one seed. */
  readonly seed: string;
  /** Approximate number of records across all record files (default 1000). */
  readonly records?: number;
  /** Approximate total bytes of the media binaries under data-retention/ (default 1 MiB). */
  readonly mediaBytes?: number;
  /** `lines`: one document per line (default); `array`: one JSON array per file. */
  readonly layout?: RecordLayout;
  /** Write manifest.json (default true). */
  readonly manifest?: boolean;
}

/** Entity counts and seeds derived from DayOptions; everything else is computed from an entity's index. */
export interface DayPlan {
  readonly serviceId: string;
  readonly jobId: string;
  readonly createdAt: Date;
  readonly periodStart: number;
  /**
   * The service's reference time (ms): what every archive repeats (staff, contacts, standing rooms, tag icons) was
   * created relative to it, not to the day, so those records keep their `_id` and content from day to day.
   */
  readonly serviceEpoch: number;
  readonly periodEnd: number;
  readonly serviceSeed: number;
  readonly daySeed: number;
  readonly layout: RecordLayout;
  readonly manifest: boolean;
  readonly mediaBytes: number;
  readonly staff: number;
  readonly contacts: number;
  readonly sharedRooms: number;
  readonly enquiries: number;
  readonly messages: number;
  readonly calls: number;
  readonly conferences: number;
  readonly tags: number;
}

const DAY_MS = 24 * 3600 * 1000;
/** See DayPlan.serviceEpoch: a fixed time (days before it fall back to their own start, which only old tests use). */
const SERVICE_EPOCH = Date.UTC(2025, 0, 1);
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

export function planDay(opts: DayOptions): DayPlan {
  const r = Math.max(1, Math.floor(opts.records ?? 1000));
  const end = opts.createdAt.getTime();
  return {
    serviceId: opts.serviceId,
    jobId: opts.jobId,
    createdAt: opts.createdAt,
    periodStart: end - DAY_MS,
    serviceEpoch: Math.min(SERVICE_EPOCH, end - DAY_MS),
    periodEnd: end,
    serviceSeed: seedOf(`service|${opts.seed}`),
    daySeed: seedOf(`day|${opts.seed}|${opts.createdAt.toISOString()}`),
    layout: opts.layout ?? 'lines',
    manifest: opts.manifest ?? true,
    mediaBytes: Math.max(0, Math.floor(opts.mediaBytes ?? 1024 * 1024)),
    staff: clamp(Math.round(r * 0.01), 3, 2000),
    contacts: clamp(Math.round(r * 0.03), 3, 50_000),
    sharedRooms: clamp(Math.round(r * 0.01), 2, 10_000),
    enquiries: Math.max(1, Math.round(r * 0.05)),
    messages: Math.max(1, Math.round(r * 0.72)),
    calls: Math.max(1, Math.round(r * 0.07)),
    conferences: Math.max(1, Math.round(r * 0.01)),
    tags: 8,
  };
}
