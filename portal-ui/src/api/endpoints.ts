import { apiUrl, request, type Query } from './http';
import type { CaseExport, CaseExportRequest, TimelinePage } from './person-types';
import type { ArchivedDetail, ArchivedItem, HoldScope, LegalHold, NewPolicy, PolicyChange, PolicyMode, RecordRetention, RetentionPolicy, RetentionRun } from './retention-types';
import type { AuditEntry, Detail, Page, RecordType, RecordTypes, Role, SavedSearch, Session, SyncHealth, SyncHistory, SyncJob, UserAccount, VerifyResult, RecordVerifyResult, IntegrityDigest, IntegritySweep, IntegrityProblem } from './types';

/** Typed calls to the portal API, one per endpoint of the contract. */

export const auth = {
  login: (username: string, password: string) => request<Session>('POST', '/auth/login', { body: { username, password }, quiet401: true }),
  me: () => request<Session>('GET', '/auth/me', { quiet401: true }),
  logout: () => request<undefined>('POST', '/auth/logout', { quiet401: true }),
  changePassword: (currentPassword: string, newPassword: string) => request<undefined>('POST', '/auth/password', { body: { currentPassword, newPassword } }),
};

export const records = {
  list: <K extends RecordType>(type: K, query: Query, signal?: AbortSignal) => request<Page<RecordTypes[K]>>('GET', `/${type}`, { query, signal }),
  detail: <K extends RecordType>(type: K, id: string) => request<Detail<K>>('GET', `/${type}/${encodeURIComponent(id)}`),
  verify: (type: RecordType, id: string) => request<RecordVerifyResult>('GET', `/${type}/${encodeURIComponent(id)}/verify`),
  /** A link (not a fetch): the browser downloads the streamed export with the current filters. */
  exportUrl: (type: RecordType, format: 'csv' | 'json', query: Query) => apiUrl(`/${type}/export.${format}`, query),
  zipUrl: (type: 'enquiries' | 'rooms', id: string) => apiUrl(`/${type}/${encodeURIComponent(id)}/export.zip`),
};

export const media = {
  url: (fileId: string) => apiUrl(`/media/${encodeURIComponent(fileId)}`),
  downloadUrl: (fileId: string) => apiUrl(`/media/${encodeURIComponent(fileId)}`, { download: 1 }),
  verify: (fileId: string) => request<VerifyResult>('GET', `/media/${encodeURIComponent(fileId)}/verify`),
};

export const users = {
  list: () => request<{ items: UserAccount[] }>('GET', '/users'),
  create: (body: { username: string; password: string; role: Role }) => request<UserAccount>('POST', '/users', { body }),
  update: (username: string, body: { role?: Role; password?: string; disabled?: boolean }) =>
    request<UserAccount>('PATCH', `/users/${encodeURIComponent(username)}`, { body }),
  remove: (username: string) => request<undefined>('DELETE', `/users/${encodeURIComponent(username)}`),
};

export const savedSearches = {
  mine: () => request<{ items: SavedSearch[] }>('GET', '/saved-searches'),
  all: () => request<{ items: SavedSearch[]; truncated: boolean }>('GET', '/saved-searches/all'),
  create: (body: { name: string; list: RecordType; query: Record<string, string> }) => request<SavedSearch>('POST', '/saved-searches', { body }),
  remove: (id: string) => request<undefined>('DELETE', `/saved-searches/${encodeURIComponent(id)}`),
};

export const sync = {
  jobs: (query: Query) => request<{ items: SyncJob[] }>('GET', '/sync/jobs', { query }),
  health: () => request<SyncHealth>('GET', '/sync/health'),
  history: (days = 30) => request<SyncHistory>('GET', '/sync/history', { query: { days } }),
};

export const integrity = {
  digests: (limit = 100) => request<{ items: IntegrityDigest[] }>('GET', '/integrity/digests', { query: { limit } }),
  /** A link: every kept digest line, the file `retention-proxy verify --digest` reads. */
  digestsFileUrl: () => apiUrl('/integrity/digests.txt'),
  sweeps: (limit = 20) => request<{ items: IntegritySweep[] }>('GET', '/integrity/sweeps', { query: { limit } }),
  problems: (sweepId: string) => request<{ items: IntegrityProblem[]; truncated: boolean }>('GET', `/integrity/sweeps/${encodeURIComponent(sweepId)}/problems`),
};

export const audit = {
  list: (query: Query, signal?: AbortSignal) => request<Page<AuditEntry>>('GET', '/audit', { query, signal }),
  exportUrl: (format: 'csv' | 'json', query: Query) => apiUrl(`/audit/export.${format}`, query),
};

const enc = encodeURIComponent;

export const retention = {
  policies: () => request<{ items: RetentionPolicy[] }>('GET', '/retention/policies'),
  createPolicy: (body: NewPolicy) => request<RetentionPolicy>('POST', '/retention/policies', { body }),
  updatePolicy: (id: string, body: PolicyChange) => request<RetentionPolicy>('PATCH', `/retention/policies/${enc(id)}`, { body }),
  setMode: (id: string, mode: PolicyMode, confirm?: string) =>
    request<RetentionPolicy>('POST', `/retention/policies/${enc(id)}/mode`, { body: confirm === undefined ? { mode } : { mode, confirm } }),
  deletePolicy: (id: string) => request<undefined>('DELETE', `/retention/policies/${enc(id)}`),

  holds: (state: 'active' | 'released') => request<{ items: LegalHold[] }>('GET', '/retention/holds', { query: { state } }),
  createHold: (body: { name: string; reason: string; scope: HoldScope }) => request<LegalHold>('POST', '/retention/holds', { body }),
  releaseHold: (id: string, reason: string) => request<LegalHold>('POST', `/retention/holds/${enc(id)}/release`, { body: { reason } }),
  /** A link: the browser downloads the hold's ZIP. */
  holdZipUrl: (id: string) => apiUrl(`/retention/holds/${enc(id)}/export.zip`),

  runs: (limit = 50) => request<{ items: RetentionRun[] }>('GET', '/retention/runs', { query: { limit } }),
  run: (id: string) => request<RetentionRun>('GET', `/retention/runs/${enc(id)}`),
  runNow: () => request<{ runId: string }>('POST', '/retention/runs'),
  restoreRun: (id: string, reason: string) => request<{ restored: number }>('POST', `/retention/runs/${enc(id)}/restore`, { body: { reason } }),

  archived: (query: Query, signal?: AbortSignal) => request<Page<ArchivedItem>>('GET', '/retention/archived', { query, signal }),
  archivedOne: (type: string, id: string) => request<ArchivedDetail>('GET', `/retention/archived/${enc(type)}/${enc(id)}`),
  restore: (type: string, id: string, reason: string) => request<{ restored: number }>('POST', `/retention/archived/${enc(type)}/${enc(id)}/restore`, { body: { reason } }),

  record: (type: string, id: string) => request<RecordRetention>('GET', `/retention/record/${enc(type)}/${enc(id)}`),
};

export const person = {
  timeline: (list: 'contacts' | 'staff', id: string, query: Query, signal?: AbortSignal) =>
    request<TimelinePage>('GET', `/${list}/${enc(id)}/timeline`, { query, signal }),
  /** Prepares a case export (a person and a range, or a list's filters); the ZIP is then downloaded once from `downloadUrl`. */
  createExport: (body: CaseExportRequest) => request<CaseExport>('POST', '/exports', { body }),
  exportInfo: (id: string) => request<CaseExport>('GET', `/exports/${enc(id)}`),
};
