import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { enumerateFiles, fileDoc } from './file-catalog.js';
import { callWithFiles, conferenceWithFile, enquiryAt, messageWithFile, roomAt, roomCount } from './history.js';
import { mediaContent } from './media.js';
import { contactAt, staffAt } from './people.js';
import { planDay, type DayOptions, type DayPlan } from './plan.js';
import { recordFileStream } from './record-stream.js';

/** One file of the archive. Read `data` to its end before asking for the next entry. */
export interface DayEntry {
  readonly path: string;
  readonly kind: 'records' | 'media' | 'manifest';
  readonly data: Readable;
}

export interface ManifestEntry { readonly path: string; readonly size: number; readonly sha256: string }
export interface Manifest {
  readonly version: 1;
  readonly serviceId: string;
  readonly jobId: string;
  readonly createdAt: string;
  readonly entries: ManifestEntry[];
  readonly records: Record<string, number>;
}

export const RECORD_FILES = {
  staff: 'lc-data-server/staff.json',
  enquiries: 'lc-data-server/enquiries.json',
  contacts: 'dynamic-phonebook/contacts.json',
  rooms: 'history/rooms.json',
  messages: 'history/messages.json',
  calls: 'history/calls.json',
  conferences: 'history/conference-calls.json',
  files: 'file-management/files.json',
} as const;
export const MANIFEST_PATH = 'manifest.json';

function* range<T>(n: number, at: (i: number) => T): Generator<T> {
  for (let i = 0; i < n; i++) yield at(i);
}

/** Sizes and hashes of the entries written so far; media hashes are kept as 32 raw bytes each (flat memory). */
class EntryLedger {
  readonly records = new Map<string, { size: number; sha256: string; count: number }>();
  private mediaHashes = Buffer.alloc(32 * 64);
  private mediaSizes = new Float64Array(64);
  mediaCount = 0;

  addMedia(size: number, digest: Buffer): void {
    if (this.mediaCount === this.mediaSizes.length) {
      const sizes = new Float64Array(this.mediaSizes.length * 2);
      sizes.set(this.mediaSizes);
      this.mediaSizes = sizes;
      const hashes = Buffer.alloc(this.mediaHashes.length * 2);
      this.mediaHashes.copy(hashes);
      this.mediaHashes = hashes;
    }
    this.mediaSizes[this.mediaCount] = size;
    digest.copy(this.mediaHashes, this.mediaCount * 32);
    this.mediaCount++;
  }

  media(ordinal: number): { size: number; sha256: string } {
    if (ordinal >= this.mediaCount) throw new Error(`media entry ${ordinal} was not written yet`);
    return { size: this.mediaSizes[ordinal] ?? 0, sha256: this.mediaHashes.subarray(ordinal * 32, ordinal * 32 + 32).toString('hex') };
  }
}

/** Passes bytes through and reports their count and SHA-256 when the source ends. */
function hashingTap(onDone: (size: number, digest: Buffer) => void): Transform {
  const hash = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
    flush(cb: TransformCallback): void {
      onDone(size, hash.digest());
      cb();
    },
  });
}

function tapped(source: Readable, onDone: (size: number, digest: Buffer) => void): { data: Readable; done: Promise<void> } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  const tap = hashingTap((size, digest) => { onDone(size, digest); resolve(); });
  source.on('error', (err) => { tap.destroy(err); reject(err); });
  tap.on('error', reject);
  source.pipe(tap);
  return { data: tap, done };
}

/**
 * A generated day. `entries()` yields the archive's files in order: record files, media binaries, files.json and
 * (unless disabled) manifest.json. `summary()` is complete once every entry has been read.
 */
export class GeneratedDay {
  readonly plan: DayPlan;
  private readonly ledger = new EntryLedger();

  constructor(options: DayOptions) {
    this.plan = planDay(options);
  }

  recordCounts(): Record<string, number> {
    return Object.fromEntries([...this.ledger.records].map(([path, r]) => [path, r.count]));
  }

  /** Number of archive entries produced (manifest included). */
  fileCount(): number {
    return this.ledger.records.size + this.ledger.mediaCount + (this.plan.manifest ? 1 : 0);
  }

  async *entries(): AsyncGenerator<DayEntry> {
    const p = this.plan;
    const recordSources: [string, () => Iterable<object>][] = [
      [RECORD_FILES.staff, () => range(p.staff, (i) => staffAt(p, i))],
      [RECORD_FILES.enquiries, () => range(p.enquiries, (i) => enquiryAt(p, i))],
      [RECORD_FILES.contacts, () => range(p.contacts, (i) => contactAt(p, i))],
      [RECORD_FILES.rooms, () => range(roomCount(p), (i) => roomAt(p, i))],
      [RECORD_FILES.messages, () => range(p.messages, (i) => messageWithFile(p, i).doc)],
      [RECORD_FILES.calls, () => range(p.calls, (i) => callWithFiles(p, i).doc)],
      [RECORD_FILES.conferences, () => range(p.conferences, (i) => conferenceWithFile(p, i).doc)],
    ];
    for (const [path, docs] of recordSources) yield* this.recordEntry(path, docs());

    for (const spec of enumerateFiles(p)) {
      const { data, done } = tapped(mediaContent(spec), (size, digest) => this.ledger.addMedia(size, digest));
      yield { path: spec.storagePath, kind: 'media', data };
      await done;
    }

    const ledger = this.ledger;
    function* fileDocs(): Generator<object> {
      let ordinal = 0;
      for (const spec of enumerateFiles(p)) yield fileDoc(spec, ledger.media(ordinal++).sha256);
    }
    yield* this.recordEntry(RECORD_FILES.files, fileDocs());

    if (p.manifest) {
      yield { path: MANIFEST_PATH, kind: 'manifest', data: Readable.from(this.manifestChunks(), { objectMode: false }) };
    }
  }

  private async *recordEntry(path: string, docs: Iterable<object>): AsyncGenerator<DayEntry> {
    let count = 0;
    const source = recordFileStream(docs, this.plan.layout, (n) => { count = n; });
    const { data, done } = tapped(source, (size, digest) => {
      this.ledger.records.set(path, { size, sha256: digest.toString('hex'), count });
    });
    yield { path, kind: 'records', data };
    await done;
  }

  /** manifest.json, streamed: the entry list is regenerated from the plan and the ledger, never held whole. */
  private *manifestChunks(): Generator<string> {
    const p = this.plan;
    const head = {
      version: 1, serviceId: p.serviceId, jobId: p.jobId, createdAt: p.createdAt.toISOString(),
    };
    yield `${JSON.stringify(head).slice(0, -1)},"records":${JSON.stringify(this.recordCounts())},"entries":[\n`;
    const files = this.ledger.records.get(RECORD_FILES.files);
    const recordEntries = [...this.ledger.records].filter(([path]) => path !== RECORD_FILES.files);
    let first = true;
    const line = (e: ManifestEntry): string => {
      const text = (first ? '' : ',\n') + JSON.stringify(e);
      first = false;
      return text;
    };
    for (const [path, r] of recordEntries) yield line({ path, size: r.size, sha256: r.sha256 });
    let ordinal = 0;
    let batch = '';
    for (const spec of enumerateFiles(p)) {
      batch += line({ path: spec.storagePath, ...this.ledger.media(ordinal++) });
      if (batch.length > 64 * 1024) { yield batch; batch = ''; }
    }
    if (batch) yield batch;
    if (files) yield line({ path: RECORD_FILES.files, size: files.size, sha256: files.sha256 });
    yield '\n]}\n';
  }
}
