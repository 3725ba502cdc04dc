/**
 * The do-it-yourself peer (issue 13 items 1 and 2): what a customer scripts instead of the proxy, bench/diy/pipeline.py
 * (OpenSSH `sftp get` of the archive and its `.sha256` sidecar, `sha256sum -c`, `7z x -p...`, pymongo import with
 * `bson.json_util`, unordered `insert_many` in batches of 1000, GridFS for the binaries, counts checked, one POST to
 * the vendor), against `retention-proxy sync --once` (the built CLI), on the same simulator-generated day archive on
 * the same OpenSSH sshd (test/helpers/sshd.ts), into fresh databases on the same server, from "archive listed" to
 * "every record and file queryable". Ours has been started once on its database before (an untimed `sync --once`
 * of an empty directory: the proxy's indexes exist, as on any running proxy); the script needs none. Both are timed from spawn to the moment the vendor's endpoint (a sink in this process) receives
 * their "downloaded" report: the script's last act, and ours once every record and file is acknowledged by a majority;
 * ours then makes the day's integrity digest, which the script has no counterpart for, so the time to each process's
 * exit is reported beside it. Both verify the published
 * checksum; after each run the bench checks both databases the same way (every record of the day present once, every
 * binary stored with its size). Two rounds, the order swapped in the second, best of 2 each.
 *
 * Import stage: our planImport + applyImport against the script's import step on the same extracted directory.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MongoClient, type Db } from 'mongodb';
import { extractArchive } from '../proxy/archive/extract.js';
import { collectionForEntry } from '../proxy/importer/entry-mapping.js';
import { publishDayArchive, type PublishedArchive } from '../proxy/vendor-sim/generate/publish-archive.js';
import { startSshd, type SshdHandle } from '../test/helpers/sshd.js';
import { runChildJob } from './child-job.js';
import { load1 } from './quiet.js';
import type { DiyImportChildJob, DiyImportChildResult } from './diy-import-child.js';
import type { BenchContext, BenchRow } from './types.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../proxy/cli/main.js', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../../bench/diy/pipeline.py', import.meta.url));
const SETUP = fileURLToPath(new URL('../../scripts/bench-setup.sh', import.meta.url));
export const KEY = 'Bench-Archive-Key-1';
const SERVICE = 'svcbench';
const MiB = 1024 * 1024;
const ROUNDS = 2;

/** The venv's python with pymongo (scripts/bench-setup.sh creates it on first use). */
export async function benchPython(log: (m: string) => void): Promise<string> {
  log('diy: python venv with pymongo (scripts/bench-setup.sh)');
  const { stdout } = await run(SETUP, [], { maxBuffer: 1024 * 1024 });
  return stdout.trim().split('\n').pop() ?? 'python3';
}

export async function runPython(python: string, args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(python, [SCRIPT, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

/** What every run must leave in its database: the day's records per collection, and its binaries. */
export interface Expected {
  records: Record<string, number>;
  files: number;
  mediaBytes: number;
}

/** Every record of the day present once (fresh database, unique `_id`: count = records read), every binary stored whole. */
export async function checkDatabase(db: Db, expected: Expected): Promise<void> {
  for (const [coll, n] of Object.entries(expected.records)) {
    const got = await db.collection(coll).countDocuments({});
    if (got !== n) throw new Error(`diy bench: ${db.databaseName}.${coll} holds ${got} records, the archive has ${n}`);
  }
  let files = 0;
  let bytes = 0;
  for await (const f of db.collection('media.files').find({}, { projection: { length: 1 } })) {
    files++;
    bytes += Number(f.length);
  }
  if (files !== expected.files || bytes !== expected.mediaBytes) {
    throw new Error(`diy bench: ${db.databaseName} holds ${files} files of ${bytes} bytes, the archive has ${expected.files} of ${expected.mediaBytes}`);
  }
}

/**
 * The vendor's status endpoint, for both sides: counts the POSTs and keeps the moment the last "downloaded" report
 * arrived (performance.now() of this process): by then both sides have every record and file queryable.
 */
function reportSink(): Promise<{ server: Server; url: string; posts: () => number; downloadedAt: () => number | undefined }> {
  let posts = 0;
  let downloadedAt: number | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST') {
        posts++;
        try {
          if ((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status?: unknown }).status === 'downloaded') downloadedAt = performance.now();
        } catch {
          // not JSON: counted, not timed
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}/retention/v1/status`, posts: () => posts, downloadedAt: () => downloadedAt });
    });
  });
}

/** Seconds from `t0` to the "downloaded" report received after it; throws when none came. */
function untilReported(sink: { downloadedAt: () => number | undefined }, t0: number, side: string): number {
  const at = sink.downloadedAt();
  if (at === undefined || at < t0) throw new Error(`diy bench: ${side} sent no "downloaded" report`);
  return (at - t0) / 1000;
}

export function runCliJson(args: string[], nodeArgs: string[] = []): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

export async function oursConfig(dir: string, sshd: SshdHandle, keyPath: string, mongoUri: string, database: string, statusUrl: string, remoteDir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, 'archive.key');
  await writeFile(keyFile, `${KEY}\n`, { mode: 0o600 });
  const configPath = join(dir, 'config.yaml');
  await writeFile(configPath, [
    'siteId: bench',
    `serviceId: ${SERVICE}`,
    `sftp: { host: 127.0.0.1, port: ${sshd.port}, username: ${sshd.username}, privateKeyFile: ${keyPath}, hostKeyFingerprint: "${sshd.hostKeyFingerprint}", settleSeconds: 0, remoteDir: "${remoteDir}" }`,
    `archive: { keyFile: ${keyFile} }`,
    `mongodb: { uri: "${mongoUri}", database: ${database}, allowSingleNode: true }`,
    `vendor: { statusUrl: ${statusUrl}, signingSecret: bench-signing-secret }`,
    `staging: { dir: ${join(dir, 'staging')}, minFreeBytes: 0 }`,
    'log: { level: warn }',
    '',
  ].join('\n'), { mode: 0o600 });
  return configPath;
}

export function expectedOf(archive: PublishedArchive, mediaBytes: number): Expected {
  const records: Record<string, number> = {};
  for (const [k, v] of Object.entries(archive.recordCounts)) records[k.endsWith('.json') ? (collectionForEntry(k) ?? k) : k] = v;
  // Entries: one per record file, the binaries, manifest.json.
  return { records, files: archive.fileCount - Object.keys(records).length - 1, mediaBytes };
}

/** The group's day at `scale` (1: ~100 000 records, 128 MiB of media), WinZip AES-256 with its sidecar, in `dataDir`. */
export async function publishDiyDay(dataDir: string, scale: number, log?: (line: string) => void): Promise<PublishedArchive> {
  const records = Math.max(2000, Math.round(100_000 * scale));
  const mediaBytes = Math.max(4 * MiB, Math.round(128 * MiB * scale));
  log?.(`diy: generating a day of ~${records} records and ${(mediaBytes / MiB).toFixed(0)} MiB of media`);
  const archive = await publishDayArchive({
    dataDir, archiveKey: KEY, encryption: 'aes-256', serviceId: SERVICE, jobId: randomUUID(),
    createdAt: new Date(Date.UTC(2026, 2, 1, 2)), seed: 'diy', records, mediaBytes, sidecar: true,
  });
  await archive.completed;
  return archive;
}

export async function benchDiy(ctx: BenchContext, mongoUri: string): Promise<BenchRow[]> {
  const python = await benchPython(ctx.log);
  const root = join(ctx.workDir, 'sftp-root');
  await mkdir(join(root, 'empty'), { recursive: true });
  const archive = await publishDiyDay(root, ctx.scale, ctx.log);
  // The binaries' total size, from extraction (also the import stage's input).
  const extracted = join(ctx.workDir, 'extracted');
  const ex = await extractArchive(archive.path, extracted, { password: KEY, allowUnencrypted: false, limits: { maxEntries: 1_000_000, maxTotalBytes: 1024 * 1024 * MiB, maxEntryRatio: 1000 } });
  const binaryBytes = ex.entries.filter((e) => !e.path.endsWith('.json')).reduce((a, e) => a + e.size, 0);
  const expected = expectedOf(archive, binaryBytes);
  const totalRecords = Object.values(expected.records).reduce((a, b) => a + b, 0);
  ctx.log(`diy: ${archive.fileName}: ${(archive.bytes / MiB).toFixed(1)} MiB, ${totalRecords} records, ${expected.files} binaries`);

  const sshd = await startSshd({ root });
  const sink = await reportSink();
  const client = new MongoClient(mongoUri);
  await client.connect();
  const suffix = Date.now().toString(36);
  try {
    const keyPath = join(ctx.workDir, 'sftp-client-key');
    await writeFile(keyPath, sshd.privateKey, { mode: 0o600 });
    const best = { ours: Infinity, peer: Infinity, oursExit: 0, peerExit: 0, oursImport: Infinity, peerImport: Infinity, oursPlan: 0 };
    const loads: number[] = [load1()];
    let peerStages: Record<string, unknown> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
      for (const side of order) {
        const database = `bench_diy_${side}_${suffix}_${round}`;
        const dir = join(ctx.workDir, `${side}-${round}`);
        try {
          if (side === 'ours') {
            // Installed and started once before (untimed): the first start creates the proxy's indexes in an empty
            // database, which a running proxy has long done. The warm-up lists an empty directory.
            const warm = await runCliJson(['sync', '--once', '--json', '--config', await oursConfig(dir, sshd, keyPath, mongoUri, database, sink.url, 'empty')]);
            if (warm.code !== 0) throw new Error(`diy bench: warm-up sync --once exited ${warm.code}: ${warm.out.slice(0, 2000)}`);
            const configPath = await oursConfig(dir, sshd, keyPath, mongoUri, database, sink.url, '.');
            const t0 = performance.now();
            const r = await runCliJson(['sync', '--once', '--json', '--config', configPath]);
            const exit = (performance.now() - t0) / 1000;
            if (r.code !== 0) throw new Error(`diy bench: sync --once exited ${r.code}: ${r.out.slice(0, 2000)}`);
            const s = untilReported(sink, t0, 'sync --once');
            await checkDatabase(client.db(database), expected);
            if (s < best.ours) best.oursExit = exit;
            best.ours = Math.min(best.ours, s);
            ctx.log(`diy: round ${round + 1}: sync --once ${s.toFixed(2)} s to the "downloaded" report, ${exit.toFixed(2)} s to its exit (load ${load1()})`);
          } else {
            const t0 = performance.now();
            const r = await runPython(python, ['full', '--work', dir, '--sftp-port', String(sshd.port), '--sftp-user', sshd.username, '--sftp-key', keyPath,
              '--archive-key', KEY, '--uri', mongoUri, '--db', database, '--report-url', sink.url]);
            const exit = (performance.now() - t0) / 1000;
            const s = untilReported(sink, t0, 'the script');
            await checkDatabase(client.db(database), expected);
            if (s < best.peer) {
              peerStages = r;
              best.peerExit = exit;
            }
            best.peer = Math.min(best.peer, s);
            ctx.log(`diy: round ${round + 1}: script ${s.toFixed(2)} s to the report, ${exit.toFixed(2)} s to its exit (download ${Number(r.downloadSeconds).toFixed(2)}, sha256sum ${Number(r.verifySeconds).toFixed(2)}, 7z ${Number(r.extractSeconds).toFixed(2)}, import+check ${Number(r.importAndCheckSeconds).toFixed(2)}) (load ${load1()})`);
          }
        } finally {
          await client.db(database).dropDatabase().catch(() => undefined);
          await rm(dir, { recursive: true, force: true });
        }
      }
      // Import stage alone, on the same extracted files.
      for (const side of order) {
        const database = `bench_diyimp_${side}_${suffix}_${round}`;
        try {
          if (side === 'ours') {
            const job: DiyImportChildJob = {
              mongoUri, database, dir: extracted, entries: ex.entries.map((e) => ({ path: e.path, size: e.size, crc32: e.crc32 })),
              jobId: archive.jobId, archive: archive.fileName, serviceId: SERVICE, createdAt: archive.createdAt.toISOString(),
            };
            const r = await runChildJob<DiyImportChildResult>('diy-import-child.js', job);
            await checkDatabase(client.db(database), expected);
            if (r.ms / 1000 < best.oursImport) best.oursPlan = r.planMs / 1000;
            best.oursImport = Math.min(best.oursImport, r.ms / 1000);
            ctx.log(`diy: round ${round + 1}: our import ${(r.ms / 1000).toFixed(2)} s (plan ${(r.planMs / 1000).toFixed(2)} s) (load ${load1()})`);
          } else {
            const r = await runPython(python, ['import', '--dir', extracted, '--uri', mongoUri, '--db', database]);
            await checkDatabase(client.db(database), expected);
            best.peerImport = Math.min(best.peerImport, Number(r.seconds));
            ctx.log(`diy: round ${round + 1}: script import ${Number(r.seconds).toFixed(2)} s (load ${load1()})`);
          }
        } finally {
          await client.db(database).dropDatabase().catch(() => undefined);
        }
      }
      loads.push(load1());
    }
    const load = `load ${Math.min(...loads)}-${Math.max(...loads)}`;
    const ratio = best.peer / best.ours;
    const importRatio = best.peerImport / best.oursImport;
    const mib = archive.bytes / MiB;
    return [
      {
        group: 'diy',
        name: `whole day, start -> everything queryable and "downloaded" reported (${mib.toFixed(0)} MiB, ${totalRecords} records, ${expected.files} files; ${load})`,
        ours: `${best.ours.toFixed(1)} s, ${(mib / best.ours).toFixed(1)} MiB/s (sync --once; exit at ${best.oursExit.toFixed(1)} s, after the day's integrity digest)`,
        peer: `${best.peer.toFixed(1)} s, ${(mib / best.peer).toFixed(1)} MiB/s (sftp get, sha256sum -c, 7z x, pymongo; exit at ${best.peerExit.toFixed(1)} s)`,
        ratio, target: '>= 1.5x', pass: ratio >= 1.5,
        raw: {
          archiveBytes: archive.bytes, records: totalRecords, files: expected.files, oursSeconds: best.ours, peerSeconds: best.peer,
          oursExitSeconds: best.oursExit, peerExitSeconds: best.peerExit, exitRatio: best.peerExit / best.oursExit,
          peerDownload: Number(peerStages.downloadSeconds), peerVerify: Number(peerStages.verifySeconds), peerExtract: Number(peerStages.extractSeconds),
          peerImportAndCheck: Number(peerStages.importAndCheckSeconds), loadMin: Math.min(...loads), loadMax: Math.max(...loads), reports: sink.posts(),
        },
      },
      {
        group: 'diy',
        name: `whole day, start -> each process's exit (ours makes the day's integrity digest first; ${load})`,
        ours: `${best.oursExit.toFixed(1)} s (sync --once, the run above)`,
        peer: `${best.peerExit.toFixed(1)} s (the script, the run above)`,
        ratio: best.peerExit / best.oursExit, target: 'report only', pass: true,
        raw: { oursSeconds: best.oursExit, peerSeconds: best.peerExit },
      },
      {
        group: 'diy',
        name: `import stage: records + binaries of the extracted day (${totalRecords} records, ${(binaryBytes / MiB).toFixed(0)} MiB media; ${load})`,
        ours: `${best.oursImport.toFixed(1)} s (plan ${best.oursPlan.toFixed(1)} s), ${Math.round(totalRecords / best.oursImport)} records/s`,
        peer: `${best.peerImport.toFixed(1)} s, ${Math.round(totalRecords / best.peerImport)} records/s (pymongo insert_many + GridFS, counts checked)`,
        ratio: importRatio, target: '>= 1.5x', pass: importRatio >= 1.5,
        raw: { oursSeconds: best.oursImport, oursPlanSeconds: best.oursPlan, peerSeconds: best.peerImport, records: totalRecords, mediaBytes: binaryBytes },
      },
    ];
  } finally {
    await client.close();
    sink.server.close();
    await sshd.stop();
  }
}
