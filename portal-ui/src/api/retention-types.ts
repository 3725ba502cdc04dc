/** Shapes of the retention governance API (docs/portal-api.md, "Retention governance"). */

export const RECORD_DATA_TYPES = ['enquiries', 'rooms', 'messages', 'calls', 'conferences', 'files', 'staff', 'contacts'] as const;
export const MEDIA_DATA_TYPES = ['media:room-file', 'media:voicemail', 'media:call-recording', 'media:conference-recording', 'media:avatar', 'media:tag-icon'] as const;
export const DATA_TYPES = [...RECORD_DATA_TYPES, ...MEDIA_DATA_TYPES] as const;
export type RecordDataType = (typeof RECORD_DATA_TYPES)[number];
export type DataType = (typeof DATA_TYPES)[number];

export type PolicyScope =
  | { kind: 'all' }
  | { kind: 'room'; ids: string[] }
  | { kind: 'department'; values: string[] }
  | { kind: 'channel'; values: string[] };
export type ScopeKind = PolicyScope['kind'];

export type PolicyMode = 'dry-run' | 'enforce';

export interface RetentionPolicy {
  id: string;
  name: string;
  dataType: DataType;
  scope: PolicyScope;
  activeDays: number;
  archiveDays: number;
  mode: PolicyMode;
  source: 'config' | 'portal';
  createdAt?: string;
  createdBy?: string;
  updatedAt?: string;
  updatedBy?: string;
  enforcedAt?: string;
  enforcedBy?: string;
}

export interface NewPolicy { id: string; name: string; dataType: DataType; scope: PolicyScope; activeDays: number; archiveDays: number }
export interface PolicyChange { name?: string; scope?: PolicyScope; activeDays?: number; archiveDays?: number }

export interface HoldScope { staff?: string[]; contacts?: string[]; rooms?: string[]; enquiries?: string[]; from?: string; to?: string }

export interface LegalHold {
  id: string;
  name: string;
  reason: string;
  scope: HoldScope;
  createdAt: string;
  createdBy: string;
  releasedAt?: string;
  releasedBy?: string;
  releaseReason?: string;
}

export interface CountBytes { count: number; bytes: number }

export interface PlanEntry {
  policyId: string;
  dataType: DataType;
  mode: PolicyMode;
  archive: CountBytes;
  destroy: CountBytes;
  heldBack: CountBytes;
  samples: { archive: string[]; destroy: string[] };
}

export type RunState = 'planning' | 'running' | 'done' | 'failed' | 'interrupted';

export interface RetentionRun {
  id: string;
  policyIds: string[];
  trigger: 'schedule' | 'manual' | 'cli';
  state: RunState;
  startedAt: string;
  finishedAt?: string;
  node?: string;
  plan: PlanEntry[];
  done: { policyId: string; archived: number; destroyed: number; restored?: number }[];
  errors: { policyId?: string; code: string; message: string }[];
  durationMs?: number;
}

export interface ArchivedMark { runId: string; policyId: string; at: string }

export interface ArchivedItem { type: DataType; id: string; archived: ArchivedMark; [field: string]: unknown }

export interface ArchivedDetail { item: Record<string, unknown>; provenance?: { jobId: string; archive: string; entry: string; sha256: string } | null; archived: ArchivedMark }

export interface RecordRetention {
  policy: { id: string; name: string; mode: PolicyMode } | null;
  archiveAt: string | null;
  destroyAt: string | null;
  holds: { id: string; name: string }[];
}
