import { safeEntryName, type ZipPart } from '../export/zip-export.js';
import type { TimelineType } from './sources.js';
import type { Person, TimelineEntry } from './timeline.js';
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
  /** The transcript's heading, e.g. "Case export: Ben Yip". */
  title: string;
  /** The export's query as manifest.json and the transcript state it (person and range, or list and filters). */
  query: Record<string, unknown>;
  /** A person export: person.json holds every stored version. */
  person?: Person;
}

/** A records file of the ZIP and where its rows come from. */
export interface CaseRecords { path: string; counter: string; entries: () => AsyncIterable<TimelineEntry> }

interface SourceSummary { archive: string; jobId: string | null; createdAt: unknown; records: number }

/** The files a record points at: attachments, a call's or conference's recording and voicemail, a file row's own file. */
function filesOf(e: TimelineEntry): { fileId: string; name: string }[] {
  const r = e.item;
  const out: { fileId: string; name: string }[] = [];
  if (Array.isArray(r.attachments)) {
    for (const a of r.attachments as { fileId?: unknown; name?: unknown }[]) if (typeof a.fileId === 'string') out.push({ fileId: a.fileId, name: typeof a.name === 'string' ? a.name : a.fileId });
  }
  for (const key of ['recordingFileId', 'voicemailFileId']) if (typeof r[key] === 'string') out.push({ fileId: r[key], name: r[key] });
  if (typeof r.fileId === 'string' && typeof r.storagePath === 'string') out.push({ fileId: r.fileId, name: typeof r.name === 'string' ? r.name : r.fileId });
  return out;
}

/**
 * A case export as ZIP parts: person.json (a person export: every stored version), the records files (each record
 * with its `_retention` provenance), transcript.html, the media, and what manifest.json adds (`manifest()`: who
 * exported, when, the query, counts and the source archives). Memory: the media list and one batch of rows.
 */
export class CaseExport {
  private readonly media = new Map<string, string>();
  private readonly counts: Record<string, number> = {};
  private readonly sources = new Map<string, SourceSummary>();

  constructor(private readonly info: CaseExportInfo, private readonly records: readonly CaseRecords[], private readonly transcript: () => AsyncIterable<TimelineEntry>) {}

  /** The vendor's fileId and name are both made safe: neither may climb out of `media/` (zip slip). */
  mediaPath(fileId: string): string {
    return `media/${safeEntryName(fileId)}-${safeEntryName(this.media.get(fileId) ?? fileId)}`;
  }

  private async *noting(rows: AsyncIterable<TimelineEntry>, counter: string): AsyncGenerator<TimelineEntry> {
    for await (const e of rows) {
      // a real name wins over a bare id (a call names its recording only by id; the recording's row has its name)
      for (const f of filesOf(e)) if (!this.media.has(f.fileId) || this.media.get(f.fileId) === f.fileId) this.media.set(f.fileId, f.name);
      this.counts[counter] = (this.counts[counter] ?? 0) + 1;
      if (e.provenance) {
        const s = this.sources.get(e.provenance.archive) ?? { archive: e.provenance.archive, jobId: e.provenance.jobId ?? null, createdAt: e.provenance.createdAt ?? null, records: 0 };
        s.records++;
        this.sources.set(s.archive, s);
      }
      yield e;
    }
  }

  *parts(): Generator<ZipPart> {
    const { person } = this.info;
    if (person) yield { path: 'person.json', json: { kind: person.kind, id: person.id, name: person.name, versions: person.versions } };
    for (const r of this.records) yield { path: r.path, rows: this.noting(r.entries(), r.counter) };
    const header = {
      title: this.info.title,
      lines: [
        ...Object.entries(this.info.query).map(([k, v]): [string, unknown] => [k, v]),
        ['Exported by', `${this.info.exportedBy.username} (${this.info.exportedBy.role})`], ['Exported at', this.info.exportedAt], ['Export id', this.info.exportId],
      ] as [string, unknown][],
    };
    yield { path: 'transcript.html', text: transcriptHtml(header, this.transcript(), (e) => { const f = filesOf(e)[0]; return f ? this.mediaPath(f.fileId) : undefined; }) };
    for (const fileId of this.media.keys()) yield { path: this.mediaPath(fileId), media: { fileId } };
  }

  /** manifest.json's fields besides `entries`. */
  manifest(): Record<string, unknown> {
    return {
      format: 'retention-proxy case export', version: 1, exportId: this.info.exportId,
      exportedBy: this.info.exportedBy, exportedAt: this.info.exportedAt, query: this.info.query,
      counts: this.counts, sources: [...this.sources.values()],
    };
  }
}
