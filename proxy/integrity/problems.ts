/** What `verify` and the fixity sweep report. docs/integrity.md explains each kind. */
export const PROBLEM_KINDS = ['changed', 'missing', 'untracked', 'tombstoned-present', 'tombstone-unproven', 'removed', 'inserted', 'unchained'] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];
export type ProblemArea = 'record' | 'media' | 'audit' | 'digest';

export interface Problem {
  kind: ProblemKind;
  area: ProblemArea;
  /** Record collection, `media.files`, or `portal.audit`. */
  collection: string;
  /** Record `_id` as canonical Extended JSON, the media file's `_id` (its archive path), or `seq <n>` for audit entries. */
  id: string;
  detail: string;
  recorded?: string;
  computed?: string;
}

/** Receives problems as they are found (the CLI prints them at once; the report keeps the first MAX_KEPT). */
export type ProblemSink = (problem: Problem) => void;

/**
 * Not a problem: a record or media file of a kept digest's day that a retention policy run destroyed. Its tombstone's
 * sha256 stands in for it in the day's Merkle root, so the digest still matches; `verify --digest` lists it.
 */
export interface Destroyed {
  area: 'record' | 'media';
  collection: string;
  id: string;
  sha256: string;
  policyId: string;
  runId: string;
  destroyedAt: string;
  archive: string;
}

export type DestroyedSink = (d: Destroyed) => void;

/** Counts what was looked at; shown as progress and in the report. */
export interface VerifyCounts {
  records: number;
  mediaFiles: number;
  mediaBytes: number;
  auditEntries: number;
  legacyAuditEntries: number;
  /** Of the legacy audit entries: how many the chain's `audit.seal` entry covers (`retention-proxy audit seal`). */
  sealedLegacyAuditEntries: number;
  tombstones: number;
  /** Records and media files re-hashed for `--digest`. */
  digestItems: number;
  /** Of a kept digest's items: destroyed by a retention policy run (their tombstones' sha256 counted instead). */
  destroyed: number;
}

export function emptyCounts(): VerifyCounts {
  return { records: 0, mediaFiles: 0, mediaBytes: 0, auditEntries: 0, legacyAuditEntries: 0, sealedLegacyAuditEntries: 0, tombstones: 0, digestItems: 0, destroyed: 0 };
}
