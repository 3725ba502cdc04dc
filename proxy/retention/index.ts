// Public API of retention governance (docs/retention.md).
export { RetentionService, type RetentionHealth, type RunRequest } from './service.js';
export type { RetentionDeps } from './deps.js';
export { Mutex } from './mutex.js';
export { DATA_TYPE_DEFS, dataTypeOfListType, isDataType, type DataTypeDef } from './data-types.js';
export * from './types.js';
