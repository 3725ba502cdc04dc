// Public API of the importer: planImport (checks, no database) then applyImport (writes).
export { applyImport, ensureImportIndexes, type ImportJob, type ImportOptions, type ImportResult } from './apply.js';
export { MEDIA_BUCKET, collectionForEntry, contentTypeFor, entryKind, type EntryKind } from './entry-mapping.js';
export { parseManifest, readManifest, verifyManifest, verifyManifestIdentity, type ArchiveIdentity, type Manifest } from './manifest.js';
export type { MediaMetadata } from './media-writer.js';
export { planImport, type ImportEntry, type ImportPlan, type PlanOptions, type PlannedRecordFile } from './plan.js';
export { RETENTION_FIELD, recordCanonicalText, recordSha256, type RetentionStamp } from './record-document.js';
