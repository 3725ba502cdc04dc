export { startVendorSim } from './vendor-sim.js';
export { runVendorSimCli } from './cli.js';
export { GeneratedDay, RECORD_FILES, MANIFEST_PATH, type DayEntry, type Manifest, type ManifestEntry } from './generate/day-entries.js';
export { publishDayArchive, type PublishArchiveOptions, type PublishedArchive } from './generate/publish-archive.js';
export type { DayOptions, RecordLayout } from './generate/plan.js';
export { hostKeyFingerprint } from './sftp/host-key.js';
export * from './types.js';
