/** Shapes of the portal API's responses (docs/portal-api.md, docs/archive-format.md). */

export type Role = 'admin' | 'auditor';

export interface SessionUser { username: string; role: Role }
export interface Session { user: SessionUser; csrfToken: string }

export interface Page<T> { items: T[]; nextCursor: string | null }

export interface PartyRef { kind: 'staff' | 'contact'; id: string; number?: string; name?: string | null }
export interface Participant { kind: 'staff' | 'contact'; id: string; name?: string | null; number?: string; joinedAt?: string; leftAt?: string; durationSec?: number }

export interface Enquiry {
  id: string;
  channel: string;
  customer: { contactId: string; name: string; phone?: string; email?: string };
  assignee: string;
  assigneeName?: string | null;
  tags: string[];
  subject: string;
  openedAt: string;
  closedAt: string;
  closedBy?: string;
  resolution: string;
  rating: number | null;
  roomId: string;
}

export interface Room {
  id: string;
  type: string;
  name: string;
  participants: Participant[];
  createdAt: string;
  enquiryId?: string;
  messageCount?: number;
  callCount?: number;
  firstActivityAt?: string;
  lastActivityAt?: string;
}

export interface Call {
  id: string;
  kind: 'direct' | 'enquiry';
  roomId: string;
  enquiryId?: string;
  from: PartyRef;
  to: PartyRef;
  direction: string;
  startedAt: string;
  answeredAt?: string;
  endedAt: string;
  durationSec: number;
  result: string;
  recordingFileId?: string;
  voicemailFileId?: string;
}

export interface Conference {
  id: string;
  roomId: string;
  title: string;
  host: string;
  hostName?: string | null;
  startedAt: string;
  endedAt: string;
  durationSec: number;
  participants: Participant[];
  recordingFileId?: string;
}

export interface FileRow {
  id: string;
  category: string;
  name: string;
  mimeType: string;
  size: number;
  sha256: string;
  roomId?: string;
  messageId?: string;
  callId?: string;
  conferenceId?: string;
  ownerId?: string;
  uploadedAt: string;
  call?: { callId: string; from?: PartyRef; to?: PartyRef; startedAt?: string; durationSec?: number };
  conference?: { conferenceId: string; title?: string; startedAt?: string; durationSec?: number };
}

export interface Attachment { fileId: string; name: string; mimeType: string; size: number }

export interface Message {
  id: string;
  roomId: string;
  enquiryId?: string;
  sender: { kind: string; id: string; name: string };
  type: string;
  text: string;
  attachments: Attachment[];
  sentAt: string;
  editedAt?: string;
  deleted: boolean;
}

export interface Staff { id: string; displayName: string; email: string; extension: string; department: string; role: string; status: string; createdAt?: string; updatedAt?: string }

export interface Contact { id: string; name: string; company: string; phones: { label: string; number: string }[]; emails: string[]; tags: string[]; createdAt?: string; updatedAt?: string }

/** The API's list types, in the order of the navigation. */
export interface RecordTypes {
  enquiries: Enquiry;
  rooms: Room;
  calls: Call;
  conferences: Conference;
  files: FileRow;
  voicemails: FileRow;
  recordings: FileRow;
  messages: Message;
  staff: Staff;
  contacts: Contact;
}
export type RecordType = keyof RecordTypes;

export interface Provenance { jobId: string; archive: string; entry: string; sha256: string; createdAt?: string }

export type ThreadEntry =
  | { kind: 'message'; at: string; item: Message }
  | { kind: 'call'; at: string; item: Call }
  | { kind: 'conference'; at: string; item: Conference }
  | { kind: 'file'; at: string; item: FileRow };

interface DetailBase<T> { item: T; provenance?: Provenance | null }
/** One stored version of a person or room (newest first): where it came from and what changed from the one before. */
export interface HistoryVersion {
  recordId: string;
  provenance: Provenance | null;
  current: boolean;
  changes: { field: string; from: unknown; to: unknown }[];
}
export interface DetailExtras {
  enquiries: { room?: Room; thread: ThreadEntry[] };
  rooms: {
    stats?: { messageCount: number; callCount: number; conferenceCount: number; firstActivityAt?: string; lastActivityAt?: string };
    participants?: Participant[];
    recentMessages?: Message[];
    history?: HistoryVersion[];
  };
  calls: { recording?: FileRow; voicemail?: FileRow; enquiry?: Pick<Enquiry, 'id' | 'subject' | 'channel'> & Partial<Enquiry> };
  conferences: { recording?: FileRow };
  files: Record<string, unknown>;
  voicemails: Record<string, unknown>;
  recordings: Record<string, unknown>;
  messages: Record<string, unknown>;
  staff: { history?: HistoryVersion[] };
  contacts: { history?: HistoryVersion[] };
}
export type Detail<K extends RecordType> = DetailBase<RecordTypes[K]> & Partial<DetailExtras[K]>;

export interface UserAccount { username: string; role: Role; disabled: boolean; createdAt: string; lastLoginAt?: string; lockedUntil?: string }

export interface SyncJob {
  fileName: string;
  jobId: string;
  siteId: string;
  archiveCreatedAt: string;
  state: string;
  status?: string;
  bytes?: number;
  fileCount?: number;
  error?: { code: string; message: string };
  updatedAt: string;
  reportedAt?: string;
  /** While the archive downloads or imports: how far it is, as the node doing it last wrote it. */
  progress?: SyncProgress;
}

export interface SyncCount { done: number; total: number }

export interface SyncProgress {
  stage: 'download' | 'extract' | 'verify' | 'import';
  percent: number | null;
  bytes?: SyncCount;
  entries?: SyncCount;
  records?: SyncCount;
  files?: SyncCount;
  /** Bytes per second (download, extract) or records per second (import). */
  rate: number | null;
  startedAt: string;
  updatedAt: string;
  node: string;
}

export interface SyncHealth {
  database: unknown;
  lastCycle: unknown;
  running: boolean;
  outboxDepth: number;
  /** The portal's record indexes still building on this node, and those that failed. */
  indexes?: { building: string[]; failed: string[] };
}

export interface SyncHistoryDay { day: string; archives: number; records: number; bytes: number; durationMs: number; failed: number }
export interface SyncHistory { from: string; to: string; days: SyncHistoryDay[]; truncated: boolean }

export interface AuditEntry {
  at: string;
  user: string;
  role?: string;
  action: string;
  target?: string;
  ip?: string;
  userAgent?: string;
  outcome: string;
  details?: Record<string, unknown>;
}

export interface VerifyResult { fileId: string; sha256Recorded: string; sha256Computed: string; ok: boolean }
/** GET /<type>/:id/verify: the record re-hashed from what is stored. */
export interface RecordVerifyResult { type: string; id: string; collection: string; recordId: string; sha256Recorded: string | null; sha256Computed: string; ok: boolean }

/** GET /integrity/digests: one day's integrity digest (docs/integrity.md). */
export interface IntegrityDigest {
  day: string;
  site: string;
  archives: string[];
  records: number;
  files: number;
  merkleRoot: string;
  auditHead: { seq: number; hash: string } | null;
  createdAt: string;
  line: string;
}

/** GET /integrity/sweeps: one fixity sweep run. */
export interface IntegritySweep {
  id: string;
  state: 'running' | 'done';
  node: string;
  startedAt: string;
  finishedAt?: string;
  ok?: boolean;
  resumed: number;
  counts: Record<string, number>;
  problemCounts?: Record<string, number>;
}

/** GET /integrity/sweeps/:id/problems: one problem a sweep found. */
export interface IntegrityProblem { kind: string; area: string; collection: string; id: string; detail: string; recorded?: string; computed?: string }

/** A saved search: a list's filters under a name (GET /saved-searches, /saved-searches/all). */
export interface SavedSearch { id: string; owner: string; name: string; list: RecordType; query: Record<string, string>; createdAt: string }
