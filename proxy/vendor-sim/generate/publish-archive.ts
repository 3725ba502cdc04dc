import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { formatArchiveName } from '../../archive/archive-name.js';
import { ZipWriter } from '../../archive/zip-writer.js';
import { GeneratedDay } from './day-entries.js';
import type { DayOptions } from './plan.js';

export interface PublishArchiveOptions extends DayOptions {
  /** The SFTP root: the archive, its sidecar and (while writing) `<name>.uploading` go here. */
  readonly dataDir: string;
  readonly archiveKey: string;
  readonly encryption: 'aes-256' | 'zipcrypto';
  /** Write `<name>.sha256` (sha256sum format) after the archive is complete (default true). */
  readonly sidecar?: boolean;
  /** Publish in place over about this many ms, the file growing in steps ("still uploading"); default off. */
  readonly slowPublishMs?: number;
  readonly log?: Logger;
}

export interface PublishedArchive {
  readonly fileName: string;
  readonly path: string;
  readonly jobId: string;
  readonly createdAt: Date;
  readonly bytes: number;
  readonly sha256: string;
  readonly recordCounts: Record<string, number>;
  /** Entries in the ZIP (manifest included). */
  readonly fileCount: number;
  /** Settles when the archive (and its sidecar) are complete under their final names. */
  readonly completed: Promise<void>;
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Generates the day into a ZIP at `target`, streaming (memory stays flat); returns size and SHA-256. */
async function writeZip(day: GeneratedDay, target: string, opts: PublishArchiveOptions): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tee = new PassThrough();
  tee.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  const file = createWriteStream(target, { flags: 'wx' });
  const closed = new Promise<void>((resolve, reject) => {
    file.on('close', resolve);
    file.on('error', reject);
  });
  tee.pipe(file);
  const zip = new ZipWriter(tee, { encryption: opts.encryption, password: opts.archiveKey, compression: 'deflate' });
  const mtime = day.plan.createdAt;
  try {
    for await (const entry of day.entries()) {
      await zip.addFile(entry.path, entry.data, { mtime, compression: entry.kind === 'media' ? 'store' : 'deflate' });
    }
    await zip.finish();
  } catch (err) {
    tee.destroy();
    file.destroy();
    throw err;
  }
  if (!tee.writableEnded) tee.end();
  await closed;
  await fsyncPath(target);
  return { bytes, sha256: hash.digest('hex') };
}

async function writeSidecar(dataDir: string, fileName: string, sha256: string): Promise<void> {
  const tmp = join(dataDir, `${fileName}.sha256.tmp`);
  await writeFile(tmp, `${sha256}  ${fileName}\n`, { flag: 'w' });
  await fsyncPath(tmp);
  await rename(tmp, join(dataDir, `${fileName}.sha256`));
}

/** Copies `from` into `to` in about 40 steps over `durationMs`; resolves once the first step is on disk. */
async function growSlowly(from: string, to: string, bytes: number, durationMs: number): Promise<{ done: Promise<void> }> {
  const steps = 40;
  const stepBytes = Math.max(1, Math.ceil(bytes / steps));
  const out = await open(to, 'wx');
  const source = createReadStream(from, { highWaterMark: stepBytes });
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const writeNext = async (): Promise<boolean> => {
    const next = await iterator.next();
    if (next.done) return false;
    await out.write(next.value);
    await out.sync();
    return true;
  };
  try {
    await writeNext();
  } catch (err) {
    await out.close();
    throw err;
  }
  const done = (async (): Promise<void> => {
    try {
      while (true) {
        await sleep(durationMs / steps);
        if (!(await writeNext())) break;
      }
    } finally {
      source.destroy();
      await out.close();
    }
  })();
  return { done };
}

/**
 * Publishes one day as `backup_{serviceId}_{jobId}_{yyyymmddhhmmss}.zip` in `dataDir`: written as `<name>.uploading`
 * and renamed when complete, then `<name>.sha256`. With `slowPublishMs` the archive is built in a private staging
 * directory and then appears in place, growing over that time; the promise resolves once it has started to appear.
 */
export async function publishDayArchive(opts: PublishArchiveOptions): Promise<PublishedArchive> {
  const day = new GeneratedDay(opts);
  const fileName = formatArchiveName(opts.serviceId, opts.jobId, opts.createdAt);
  const path = join(opts.dataDir, fileName);
  const log = opts.log?.child({ component: 'vendor-sim-publish', fileName });
  const sidecar = opts.sidecar ?? true;
  const result = (bytes: number, sha256: string, completed: Promise<void>): PublishedArchive => ({
    fileName, path, jobId: opts.jobId, createdAt: opts.createdAt, bytes, sha256,
    recordCounts: day.recordCounts(), fileCount: day.fileCount(), completed,
  });

  if (opts.slowPublishMs === undefined) {
    const partial = `${path}.uploading`;
    try {
      const { bytes, sha256 } = await writeZip(day, partial, opts);
      await rename(partial, path);
      await fsyncPath(opts.dataDir);
      if (sidecar) await writeSidecar(opts.dataDir, fileName, sha256);
      log?.info({ bytes, entries: day.fileCount() }, 'archive published');
      return result(bytes, sha256, Promise.resolve());
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }

  const staging = await mkdtemp(join(tmpdir(), 'vendor-sim-'));
  try {
    const staged = join(staging, fileName);
    const { bytes, sha256 } = await writeZip(day, staged, opts);
    const { done } = await growSlowly(staged, path, bytes, opts.slowPublishMs);
    log?.info({ bytes, durationMs: opts.slowPublishMs }, 'archive publishing slowly (still uploading)');
    const completed = done
      .then(async () => {
        if (sidecar) await writeSidecar(opts.dataDir, fileName, sha256);
        log?.info({ bytes }, 'slow archive complete');
      })
      .finally(() => rm(staging, { recursive: true, force: true }));
    return result(bytes, sha256, completed);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
