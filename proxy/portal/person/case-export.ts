import { safeEntryName, type ZipPart } from '../export/zip-export.js';
import { TIMELINE_SOURCES, type PersonScope, type TimelineType } from './sources.js';
import type { Person, TimelineEntry, TimelineRange, TimelineService } from './timeline.js';
import { transcriptHtml } from './transcript.js';

export const CASE_RECORD_FILES: Readonly<Record<TimelineType, string>> = {
  enquiry: 'records/enquiries.json', message: 'records/messages.json', call: 'records/calls.json', conference: 'records/conferences.json',
  voicemail: 'records/voicemails.json', 'call-recording': 'records/call-recordings.json', 'conference-recording': 'records/conference-recordings.json',
  file: 'records/files.json',
};

export interface CaseExportInfo {
  exportId: string;
  exportedBy: { username: string; role: string };
  exportedAt: Date;
  person: Person;
  range: TimelineRange;
}

interface SourceSummary { archive: string; jobId: string | null; createdAt: unknown; records: number }

/** The files a record points at: a message's attachments, a voicemail's or recording's or room-file's own file. */
function filesOf(e: TimelineEntry): { fileId: string; name: string }[] {
  const r = e.item;
  if (e.type === 'message') {
    return (Array.isArray(r.attachments) ? (r.attachments as { fileId?: unknown; name?: unknown }[]) : [])
      .filter((a) => typeof a.fileId === 'string').map((a) => ({ fileId: a.fileId as string, name: typeof a.name === 'string' ? a.name : (a.fileId as string) }));
  }
  if (e.type === 'voicemail' || e.type === 'call-recording' || e.type === 'conference-recording' || e.type === 'file') {
    return typeof r.fileId === 'string' ? [{ fileId: r.fileId, name: typeof r.name === 'string' ? r.name : r.fileId }] : [];
  }
  return [];
}

/**
 * A person's case export as ZIP parts: person.json (every stored version), one JSON file per record type (each
 * record with its `_retention` provenance), transcript.html, the media, and what manifest.json adds (`manifest()`:
 * who exported, when, the query, counts and the source archives). Memory: the media list and one page of rows.
 */
export class CaseExport {
  private readonly media = new Map<string, string>();
  private readonly counts: Record<string, number> = {};
  private readonly sources = new Map<string, SourceSummary>();

  constructor(private readonly timeline: TimelineService, private readonly scope: PersonScope, private readonly info: CaseExportInfo) {}

  mediaPath(fileId: string): string {
    return `media/${fileId}-${safeEntryName(this.media.get(fileId) ?? fileId)}`;
  }

  private async *noting(rows: AsyncIterable<TimelineEntry>, type: TimelineType): AsyncGenerator<TimelineEntry> {
    for await (const e of rows) {
      for (const f of filesOf(e)) if (!this.media.has(f.fileId)) this.media.set(f.fileId, f.name);
      this.counts[type] = (this.counts[type] ?? 0) + 1;
      if (e.provenance) {
        const s = this.sources.get(e.provenance.archive) ?? { archive: e.provenance.archive, jobId: e.provenance.jobId ?? null, createdAt: e.provenance.createdAt ?? null, records: 0 };
        s.records++;
        this.sources.set(s.archive, s);
      }
      yield e;
    }
  }

  *parts(): Generator<ZipPart> {
    const { person, range } = this.info;
    yield { path: 'person.json', json: { kind: person.kind, id: person.id, name: person.name, versions: person.versions } };
    for (const source of TIMELINE_SOURCES) yield { path: CASE_RECORD_FILES[source.type], rows: this.noting(this.timeline.ofSource(source, this.scope, range), source.type) };
    const header = {
      title: `Case export: ${person.name ?? person.id}`,
      lines: [
        ['Person', `${person.name ?? ''} (${person.kind} ${person.id})`], ['From', range.from], ['To', range.to],
        ['Exported by', `${this.info.exportedBy.username} (${this.info.exportedBy.role})`], ['Exported at', this.info.exportedAt], ['Export id', this.info.exportId],
      ] as [string, unknown][],
    };
    yield { path: 'transcript.html', text: transcriptHtml(header, this.timeline.all(this.scope, range), (e) => { const f = filesOf(e)[0]; return f ? this.mediaPath(f.fileId) : undefined; }) };
    for (const fileId of this.media.keys()) yield { path: this.mediaPath(fileId), media: { fileId } };
  }

  /** manifest.json's fields besides `entries`. */
  manifest(): Record<string, unknown> {
    const { person, range } = this.info;
    return {
      format: 'retention-proxy case export', version: 1, exportId: this.info.exportId,
      exportedBy: this.info.exportedBy, exportedAt: this.info.exportedAt,
      query: { person: { kind: person.kind, id: person.id, name: person.name }, from: range.from, to: range.to },
      counts: this.counts, sources: [...this.sources.values()],
    };
  }
}
