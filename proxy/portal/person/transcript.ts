import type { TimelineEntry } from './timeline.js';

/** Text as HTML text or attribute value: nothing in a record can open a tag, an attribute or an entity. */
export function escapeHtml(value: unknown): string {
  const s = value === undefined || value === null ? '' : value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : JSON.stringify(value);
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface TranscriptHeader {
  title: string;
  lines: [label: string, value: unknown][];
}

type Party = { id?: unknown; name?: unknown; number?: unknown } | undefined;
/** A scalar as text; anything else (objects, arrays, null) empty. */
const txt = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});
const party = (p: Party): string => {
  const o = obj(p);
  const name = typeof o.name === 'string' && o.name !== '' ? o.name : undefined;
  const number = typeof o.number === 'string' ? o.number : undefined;
  return [name, number && name ? `(${number})` : number].filter(Boolean).join(' ') || (txt(o.id) || '?');
};
const secs = (v: unknown): string => (typeof v === 'number' ? `${Math.floor(v / 60)}:${String(v % 60).padStart(2, '0')}` : '');

/** Who and what of one row, as plain text (escaped by the caller). */
export function describeEntry(e: TimelineEntry): { who: string; what: string } {
  const r = e.item;
  switch (e.type) {
    case 'enquiry': {
      const c = obj(r.customer);
      return { who: party({ name: c.name, number: c.phone, id: c.contactId }), what: `${txt(r.subject)} [${txt(r.channel)}, ${txt(r.resolution)}]${typeof r.assigneeName === 'string' ? `, handled by ${r.assigneeName}` : ''}` };
    }
    case 'message': {
      const files = Array.isArray(r.attachments) ? (r.attachments as { name?: unknown }[]).map((a) => txt(a.name)).filter(Boolean) : [];
      const text = r.deleted === true ? '(deleted)' : txt(r.text);
      return { who: party(obj(r.sender)), what: [text, ...files.map((f) => `[attachment: ${f}]`)].filter(Boolean).join(' ') };
    }
    case 'call':
      return { who: `${party(obj(r.from))} → ${party(obj(r.to))}`, what: `${txt(r.direction)} call, ${txt(r.result)}${r.durationSec ? `, ${secs(r.durationSec)}` : ''}` };
    case 'conference': {
      const names = Array.isArray(r.participants) ? (r.participants as Party[]).map(party) : [];
      return { who: typeof r.hostName === 'string' ? r.hostName : txt(r.host), what: `${txt(r.title)} (${secs(r.durationSec)}) with ${names.join(', ')}` };
    }
    case 'voicemail':
    case 'call-recording': {
      const call = obj(r.call);
      return { who: `${party(obj(call.from))} → ${party(obj(call.to))}`, what: `${e.label}: ${txt(r.name)}` };
    }
    case 'conference-recording':
      return { who: txt(obj(r.conference).hostName), what: `${e.label}: ${txt(r.name)} (${txt(obj(r.conference).title)})` };
    case 'file':
      return { who: typeof r.ownerName === 'string' ? r.ownerName : txt(r.ownerId), what: `${txt(r.name)} (${txt(r.mimeType)}, ${txt(r.size)} bytes)` };
    case 'room': {
      const names = Array.isArray(r.participants) ? (r.participants as Party[]).map(party) : [];
      return { who: names.join(', '), what: `${txt(r.type)} room: ${txt(r.name)}` };
    }
    case 'staff-member':
      return { who: txt(r.displayName), what: `${txt(r.department)}, ${txt(r.role)}, ${txt(r.status)}` };
    case 'contact':
      return { who: txt(r.name), what: txt(r.company) };
  }
}

const STYLE = 'body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;width:100%}'
  + 'th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}'
  + 'td.when{white-space:nowrap;font-family:monospace}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dt{font-weight:bold}';

/**
 * A readable, self-contained transcript: one HTML page, inline CSS only, no script (its own CSP forbids any), every
 * value escaped. Rows link to the media files inside the same ZIP (`mediaPath`).
 */
export async function* transcriptHtml(header: TranscriptHeader, entries: AsyncIterable<TimelineEntry>, mediaPath: (e: TimelineEntry) => string | undefined): AsyncGenerator<string> {
  yield '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    + '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src \'self\'; media-src \'self\'">'
    + `<title>${escapeHtml(header.title)}</title><style>${STYLE}</style></head><body>\n`
    + `<h1>${escapeHtml(header.title)}</h1>\n<dl>${header.lines.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>\n`
    + '<table><thead><tr><th scope="col">Time (UTC)</th><th scope="col">Type</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Record</th></tr></thead><tbody>\n';
  let n = 0;
  for await (const e of entries) {
    const { who, what } = describeEntry(e);
    const media = mediaPath(e);
    const link = media ? ` <a href="${escapeHtml(media.split('/').map(encodeURIComponent).join('/'))}">file</a>` : '';
    yield `<tr><td class="when">${escapeHtml(e.at)}</td><td>${escapeHtml(e.label)}</td><td>${escapeHtml(who)}</td><td>${escapeHtml(what)}${link}</td><td>${escapeHtml(`${e.link.list}/${e.link.id}`)}</td></tr>\n`;
    n++;
  }
  yield `</tbody></table>\n<p>${n} entries.</p></body></html>\n`;
}
