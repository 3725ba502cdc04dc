/** Shapes of the person timeline and case export responses (docs/portal-api.md, "Person timeline and case export"). */

export type TimelineType = 'enquiry' | 'message' | 'call' | 'conference' | 'voicemail' | 'call-recording' | 'conference-recording' | 'file';
export type TimelineList = 'enquiries' | 'messages' | 'calls' | 'conferences' | 'voicemails' | 'recordings' | 'files';

export interface TimelineEntry {
  type: TimelineType;
  label: string;
  at: string;
  link: { list: TimelineList; id: string };
  item: Record<string, unknown> & { id: string };
  provenance: { archive: string; jobId?: string } | null;
}

export interface TimelinePage {
  person: { kind: 'contact' | 'staff'; id: string; name: string | null; versions: number };
  range: { from: string; to: string };
  items: TimelineEntry[];
  nextCursor: string | null;
}

export interface CaseExport {
  id: string;
  state: 'ready' | 'streaming' | 'done' | 'aborted';
  query: { person: { kind: 'contact' | 'staff'; id: string; name: string | null }; from: string; to: string };
  createdBy: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  sha256?: string;
  size?: number;
  error?: string;
  downloadUrl: string;
}

/** What a case export covers: a person and a date range, or a list with its current filters. */
export type CaseExportRequest =
  | { person: { kind: 'contact' | 'staff'; id: string }; from: string; to: string }
  | { list: { type: string; filters: Record<string, string> } };
