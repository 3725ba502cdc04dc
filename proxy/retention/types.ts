import type { Document } from 'mongodb';

/** Collections the retention governance owns (docs/retention.md). */
export const RETENTION_COLLECTIONS = {
  policies: 'retention.policies',
  holds: 'retention.holds',
  runs: 'retention.runs',
  tombstones: 'retention.tombstones',
  locks: 'retention.locks',
} as const;

/** Record field marking an archived record (media: `metadata.archived` on the media.files document). */
export const ARCHIVED_FIELD = '_archived';
/** Every auditor-facing read adds this to its filter. */
export const NOT_ARCHIVED = { [ARCHIVED_FIELD]: { $exists: false } } as const;
/** The same for media.files documents. */
export const MEDIA_NOT_ARCHIVED = { 'metadata.archived': { $exists: false } } as const;

export const RECORD_DATA_TYPES = ['enquiries', 'rooms', 'messages', 'calls', 'conferences', 'files', 'staff', 'contacts'] as const;
export const MEDIA_DATA_TYPES = ['media:room-file', 'media:voicemail', 'media:call-recording', 'media:conference-recording', 'media:avatar', 'media:tag-icon'] as const;
export const DATA_TYPES = [...RECORD_DATA_TYPES, ...MEDIA_DATA_TYPES] as const;
export type RecordDataType = (typeof RECORD_DATA_TYPES)[number];
export type MediaDataType = (typeof MEDIA_DATA_TYPES)[number];
export type DataType = (typeof DATA_TYPES)[number];

export type PolicyScope =
  | { kind: 'all' }
  | { kind: 'room'; ids: string[] }
  | { kind: 'department'; values: string[] }
  | { kind: 'channel'; values: string[] };

export type PolicyMode = 'dry-run' | 'enforce';
export type PolicySource = 'config' | 'portal';

export interface Policy {
  _id: string;
  name: string;
  dataType: DataType;
  scope: PolicyScope;
  activeDays: number;
  archiveDays: number;
  mode: PolicyMode;
  source: PolicySource;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  updatedBy: string;
  enforcedAt?: Date;
  enforcedBy?: string;
}

/** POST /api/v1/retention/policies body (a new portal policy always starts in dry-run). */
export interface PolicyInput {
  id: string;
  name: string;
  dataType: DataType;
  scope: PolicyScope;
  activeDays: number;
  archiveDays: number;
}

/** A policy from the configuration file (`retention.policies[]`). */
export interface ConfigPolicy extends PolicyInput { mode: PolicyMode }

export interface PolicyPatch {
  name?: string;
  scope?: PolicyScope;
  activeDays?: number;
  archiveDays?: number;
}

export interface HoldScope {
  staff?: string[];
  contacts?: string[];
  rooms?: string[];
  enquiries?: string[];
  from?: Date;
  to?: Date;
}

export interface Hold {
  _id: string;
  name: string;
  reason: string;
  scope: HoldScope;
  createdAt: Date;
  createdBy: string;
  releasedAt?: Date;
  releasedBy?: string;
  releaseReason?: string;
}

export interface HoldInput { name: string; reason: string; scope: HoldScope }

export type RunTrigger = 'schedule' | 'manual' | 'cli';
export type RunState = 'planning' | 'running' | 'done' | 'failed' | 'interrupted';

export interface CountBytes { count: number; bytes: number }

export interface PlanEntry {
  policyId: string;
  dataType: DataType;
  mode: PolicyMode;
  archive: CountBytes;
  destroy: CountBytes;
  heldBack: CountBytes;
  /** Business ids (media: storagePath), at most 5 each. */
  samples: { archive: string[]; destroy: string[] };
}

export interface RunDone { policyId: string; archived: number; destroyed: number; restored?: number }
export interface RunError { policyId?: string; code: string; message: string }

export interface Run {
  _id: string;
  policyIds: string[];
  trigger: RunTrigger;
  modes: Record<string, PolicyMode>;
  state: RunState;
  startedAt: Date;
  finishedAt?: Date;
  node: string;
  /** The HA fencing token of the term that runs it (absent without HA). */
  fence?: number;
  /** Who asked for it (portal user, 'cli', 'scheduler'). */
  requestedBy: string;
  /** true: `retention plan` (nothing may change even for enforcing policies). */
  planOnly: boolean;
  plan: PlanEntry[];
  done: RunDone[];
  errors: RunError[];
  durationMs?: number;
  restoredAt?: Date;
  restoredBy?: string;
  restoreReason?: string;
}

/** `_archived` on a record, `metadata.archived` on a media.files document. */
export interface ArchivedMark { runId: string; policyId: string; at: Date }

export interface Tombstone {
  /** `<collection>|<canonical EJSON of the record _id>` */
  _id: string;
  collection: string;
  recordId: unknown;
  sha256: string | null;
  policyId: string;
  runId: string;
  destroyedAt: Date;
  kind: 'record' | 'media';
  /** The archive that imported the record or file (`_retention.archive`, `metadata.archive`); absent before 1.x. */
  archive?: string;
}

/** GET /api/v1/retention/record/:type/:id: the "Retention" panel of a detail page. */
export interface RecordStatus {
  policy: { id: string; name: string; mode: PolicyMode } | null;
  archiveAt: Date | null;
  destroyAt: Date | null;
  holds: { id: string; name: string }[];
  /** Present when the record is archived (admins only see such records). */
  archived?: ArchivedMark;
}

export interface ArchivedItem { type: DataType; id: string; archived: ArchivedMark; [field: string]: unknown }
export interface ArchivedPage { items: ArchivedItem[]; nextCursor: string | null }
export interface ArchivedDetail { item: Document; provenance: Document | null; archived: ArchivedMark }

/** Who did it (portal user name, or 'cli' / 'config' / 'scheduler'). */
export type Actor = string;

/** What restore reports. */
export interface RestoreResult { restored: number }
