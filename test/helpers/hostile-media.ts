import { createHash, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { BSON, Long, ObjectId, type Db } from 'mongodb';
import { pino } from 'pino';
import { extractArchive } from '../../proxy/archive/extract.js';
import { applyImport, ensureImportIndexes, planImport } from '../../proxy/importer/index.js';
import { makeAes7z, makeTempDir, type FileSpec } from './archive-tools.js';

/** Script that proves it ran: it reads the CSRF token like a real attack would and calls home to the portal. */
export const BEACON = '/xss-beacon';
const SCRIPT = `fetch('/api/v1/auth/me').then(function (r) { return r.text(); }).then(function (t) { fetch('${BEACON}?' + encodeURIComponent(t)); });`;

export const HOSTILE_HTML = `<!doctype html><html><head><title>invoice</title><script>${SCRIPT}</script></head><body><h1>invoice</h1><img src="x" onerror="fetch('${BEACON}?img')"></body></html>`;
export const HOSTILE_SVG = `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="fetch('${BEACON}?svg-onload')"><script>${SCRIPT}</script><rect width="10" height="10"/></svg>`;
/** A 1x1 PNG. */
export const TINY_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

export interface StoredFile { fileId: string; name: string; mimeType: string; sha256: string; size: number }

export interface HostileSet {
  html: StoredFile;
  svg: StoredFile;
  /** HTML bytes whose record claims image/png: nosniff must keep the browser from rendering it as HTML. */
  fakePng: StoredFile;
  /** A real PNG (served inline). */
  png: StoredFile;
  /** A PDF with a non-Latin-1 name (報告.pdf): an attachment with RFC 5987 filename*. */
  pdf: StoredFile;
}

const ARCHIVE_KEY = 'Hostile-Key-2026!';
const JOB_ID = '0b7e2c54-1d7a-4f1e-9d40-6c1f9b1e2a77';

function fileRecord(category: string, ext: string, name: string, mimeType: string, data: Buffer): { rec: Record<string, unknown>; spec: FileSpec; file: StoredFile } {
  const fileId = randomUUID();
  const storagePath = `data-retention/${category}/${fileId}.${ext}`;
  const sha256 = createHash('sha256').update(data).digest('hex');
  return {
    rec: { _id: new ObjectId(), fileId, category, name, mimeType, size: Long.fromNumber(data.length), sha256, storagePath, roomId: 'room-hostile', ownerId: 'contact-hostile', uploadedAt: new Date('2026-03-02T10:00:00Z') },
    spec: { name: storagePath, data },
    file: { fileId, name, mimeType, sha256, size: data.length },
  };
}

/**
 * A contact's hostile uploads delivered the way the vendor delivers them: a real WinZip AES-256 archive made by 7-Zip,
 * opened by our extractor and stored by our importer (file records + GridFS binaries).
 */
export async function importHostileFiles(db: Db): Promise<HostileSet> {
  const html = fileRecord('room-file', 'html', 'invoice.html', 'text/html', Buffer.from(HOSTILE_HTML));
  const svg = fileRecord('room-file', 'svg', 'logo.svg', 'image/svg+xml', Buffer.from(HOSTILE_SVG));
  const fakePng = fileRecord('room-file', 'png', 'photo.png', 'image/png', Buffer.from(HOSTILE_HTML));
  const png = fileRecord('room-file', 'png', 'image-1e9dbe30.png', 'image/png', TINY_PNG);
  const pdf = fileRecord('room-file', 'pdf', '報告.pdf', 'application/pdf', Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n', 'latin1'));
  const all = [html, svg, fakePng, png, pdf];
  const filesJson = all.map((f) => BSON.EJSON.stringify(f.rec, { relaxed: false })).join('\n') + '\n';
  const dir = await makeTempDir('rp-hostile-');
  try {
    const zip = await makeAes7z(dir, [{ name: 'file-management/files.json', data: Buffer.from(filesJson) }, ...all.map((f) => f.spec)], ARCHIVE_KEY, { store: true });
    const log = pino({ level: 'silent' });
    const out = `${dir}/extract`;
    const extracted = await extractArchive(zip, out, { password: ARCHIVE_KEY, allowUnencrypted: false, limits: { maxEntries: 100, maxTotalBytes: 1 << 24, maxEntryRatio: 1000 }, log, threads: 0 });
    const plan = await planImport(out, extracted.entries, log);
    await ensureImportIndexes(db);
    await applyImport(db, out, plan, { jobId: JOB_ID, archive: `backup_svc1001_${JOB_ID}_20260302020000.zip` }, { wtimeoutMs: 10_000, log });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { html: html.file, svg: svg.file, fakePng: fakePng.file, png: png.file, pdf: pdf.file };
}
