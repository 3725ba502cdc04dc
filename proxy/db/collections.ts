/** Collections the proxy owns (the vendor's records go to `<folder>.<name>`, media to GridFS `media`). */
export const JOBS_COLLECTION = 'proxy.jobs';
export const OUTBOX_COLLECTION = 'proxy.outbox';
/** The live progress of archives in flight (one small document each, db/job-progress.ts). */
export const PROGRESS_COLLECTION = 'proxy.progress';
