import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { connectDatabase } from '../../db/connect.js';
import { ProxyError } from '../../errors.js';
import { parseDigestFile } from '../../integrity/digest.js';
import type { Destroyed, Problem, VerifyCounts } from '../../integrity/problems.js';
import { verifyDatabase, type VerifyReport } from '../../integrity/verify.js';
import { loadConfigFor, loggerFor } from '../common.js';
import { EXIT, type CliIo, type ExitCode } from '../io.js';

export const VERIFY_HELP = `retention-proxy verify [--collection NAME] [--since DATE] [--json] [--digest FILE]

Recomputes the SHA-256 of every stored record (_retention.sha256) and of every media file from its GridFS chunks
(metadata.sha256), checks the tombstones of destroyed records, and walks the audit log's hash chain. Reads only.
Prints one line per problem: changed, missing, untracked, tombstoned-present, tombstone-unproven (records, media), and changed,
removed, inserted, unchained (audit entries); then a summary. Exit 0: clean; 1: any problem; 2: usage or configuration error.
With --digest, records and files destroyed by a retention policy run since are listed as DESTROYED (not a problem).
Audit entries from before the chain (legacy) are counted; once sealed (retention-proxy audit seal), each one edited,
removed or added since the seal is named by its _id (changed, removed, inserted).

  --collection NAME   only this record collection, or media.files (the media bucket), or portal.audit (the chain);
                      other proxy.*, portal.*, retention.*, integrity.*, system.*, media.* names: USAGE error
  --since DATE        only records and media of archives created at or after DATE (ISO 8601, e.g. 2026-03-01)
  --json              the whole report as JSON on stdout
  --digest FILE       instead: check the database against kept digest lines (retention-proxy digest): the same
                      archives' records and media re-hashed now must give the kept counts and Merkle roots, and the
                      kept audit chain head must still be there
Common options: --config FILE, --log-level LEVEL
docs/integrity.md explains what is hashed and how to check it without the proxy.`;

/** `verify`: the archive's fixity, from the command line. */
export async function verifyCommand(argv: string[], io: CliIo, isTty: boolean = process.stderr.isTTY): Promise<ExitCode> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      collection: { type: 'string' }, since: { type: 'string' }, json: { type: 'boolean' }, digest: { type: 'string' },
      config: { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    io.out(VERIFY_HELP);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new ProxyError('USAGE', `verify takes no arguments (got ${positionals.join(' ')})`);
  if (v.collection !== undefined && v.collection.length === 0) throw new ProxyError('USAGE', '--collection needs a name');
  const since = v.since === undefined ? undefined : parseSince(v.since);
  if (v.digest !== undefined && (v.collection !== undefined || since !== undefined)) throw new ProxyError('USAGE', '--digest cannot be combined with --collection or --since');
  const digests = v.digest === undefined ? undefined : parseDigestFile(await readDigestFile(v.digest), v.digest);

  const config = await loadConfigFor(v);
  const log = loggerFor(config, { ...v, 'log-level': v['log-level'] ?? 'warn' }, 'stderr');
  const { client, db } = await connectDatabase(
    { uri: config.mongodb.uri, database: config.mongodb.database, ...(config.mongodb.password ? { password: config.mongodb.password } : {}), writeConcernTimeoutMs: config.mongodb.writeConcernTimeoutMs, appName: 'retention-proxy/verify' },
    log,
  );
  const progress = isTty ? progressLine() : undefined;
  try {
    const report = await verifyDatabase(db, {
      ...(v.collection === undefined ? {} : { collection: v.collection }),
      ...(since === undefined ? {} : { since }),
      ...(digests === undefined ? {} : { digests }),
      ...(v.json ? {} : { onProblem: (p: Problem) => { progress?.clear(); io.out(problemLine(p)); } }),
      ...(v.json ? {} : { onDestroyed: (d: Destroyed) => { progress?.clear(); io.out(destroyedLine(d)); } }),
      ...(progress ? { onProgress: progress.update } : {}),
    });
    progress?.clear();
    if (v.json) io.out(JSON.stringify(report, null, 2));
    else io.out(summaryLine(report));
    return report.ok ? EXIT.OK : EXIT.INCOMPLETE;
  } finally {
    await client.close();
  }
}

async function readDigestFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ProxyError('USAGE', `--digest ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

function parseSince(text: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(text) ? new Date(text) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new ProxyError('USAGE', `--since must be an ISO 8601 date or date-time with zone (got ${text})`);
  return d;
}

/** One problem per line: KIND  AREA  COLLECTION  ID  detail [recorded ... computed ...]. */
export function problemLine(p: Problem): string {
  const hashes = p.recorded !== undefined || p.computed !== undefined ? ` (recorded ${p.recorded ?? '-'}, computed ${p.computed ?? '-'})` : '';
  return `${p.kind.toUpperCase().padEnd(18)} ${p.area.padEnd(6)} ${p.collection} ${p.id}: ${p.detail}${hashes}`;
}

/** A record or file of a kept day destroyed by retention (not a problem): DESTROYED  AREA  COLLECTION  ID  by ... */
export function destroyedLine(d: Destroyed): string {
  return `${'DESTROYED'.padEnd(18)} ${d.area.padEnd(6)} ${d.collection} ${d.id}: by policy ${d.policyId} run ${d.runId} at ${d.destroyedAt} (archive ${d.archive}; its tombstone's sha256 ${d.sha256} counted)`;
}

export function summaryLine(r: VerifyReport): string {
  const c = r.counts;
  if (r.scope.digestDays.length > 0) {
    const gone = c.destroyed > 0 ? ` (${String(c.destroyed)} of them destroyed by retention, counted by their tombstones)` : '';
    const what = `checked ${String(c.digestItems)} records and files against the digests of ${r.scope.digestDays.join(', ')}${gone}`;
    if (r.ok) return `${what}: match`;
    return `${what}: PROBLEMS (${Object.entries(r.problemCounts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${String(n)}`).join(', ')})`;
  }
  const what = `verified ${String(c.records)} records in ${String(r.scope.collections.length)} collections, ${String(c.mediaFiles)} media files (${String(c.mediaBytes)} bytes), ${String(c.auditEntries)} audit entries (${String(c.legacyAuditEntries)} legacy, before the chain, ${String(c.sealedLegacyAuditEntries)} of them sealed), ${String(c.tombstones)} tombstones`;
  const head = r.auditHead ? `; audit chain head seq ${String(r.auditHead.seq)} ${r.auditHead.hash}` : '';
  if (r.ok) return `${what}${head}: clean`;
  const kinds = Object.entries(r.problemCounts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${String(n)}`).join(', ');
  return `${what}${head}: PROBLEMS (${kinds})`;
}

function progressLine(): { update: (c: Readonly<VerifyCounts>) => void; clear: () => void } {
  let last = 0;
  let shown = false;
  return {
    update: (c) => {
      const now = Date.now();
      if (now - last < 1000) return;
      last = now;
      shown = true;
      process.stderr.write(`\rverifying: ${String(c.records)} records, ${String(c.mediaFiles)} media files (${String(Math.round(c.mediaBytes / 1048576))} MiB), ${String(c.auditEntries)} audit entries `);
    },
    clear: () => {
      if (!shown) return;
      shown = false;
      process.stderr.write('\r\x1b[K');
    },
  };
}
