import { parseArgs } from 'node:util';
import { connectDatabase } from '../../db/connect.js';
import { ProxyError } from '../../errors.js';
import { sealLegacyAudit, SEAL_ENTRIES_COLLECTION } from '../../integrity/audit-seal.js';
import { AuditLog } from '../../portal/audit.js';
import { loadConfigFor, loggerFor } from '../common.js';
import { EXIT, type CliIo, type ExitCode } from '../io.js';

export const AUDIT_HELP = `retention-proxy audit seal [--json]

Seals the legacy audit entries: those written before the audit log became a hash chain (no seq, prevHash, hash;
dated before the chain's first entry). Appends ONE chain entry, action audit.seal (user cli), whose details carry
their count and a Merkle root over their hashes (SHA-256 of each whole entry, _id included, as canonical Extended
JSON; the root as for the daily digest), and keeps each entry's hash in ${SEAL_ENTRIES_COLLECTION}. From then on
\`retention-proxy verify\` and the fixity sweep report a legacy entry that was edited (changed), deleted (removed)
or added with an old date (inserted), by its _id. Run it once, after every proxy of the pair runs this release.
A chain that already has a seal is not sealed again (that would bless whatever changed since): it prints the seal
and exits 0, as it does when there is nothing to seal. docs/integrity.md, "Legacy entries".

  --json   the result as JSON
Common options: --config FILE, --log-level LEVEL`;

/** \`audit seal\`: one chain entry covering the pre-chain (legacy) audit entries. */
export async function auditCommand(argv: string[], io: CliIo): Promise<ExitCode> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, config: { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (v.help) {
    io.out(AUDIT_HELP);
    return EXIT.OK;
  }
  const [verb, ...extra] = positionals;
  if (verb !== 'seal' || extra.length > 0) throw new ProxyError('USAGE', `audit takes one verb, seal (got ${positionals.join(' ') || 'none'}); see audit --help`);
  const config = await loadConfigFor(v);
  const log = loggerFor(config, { ...v, 'log-level': v['log-level'] ?? 'warn' }, 'stderr');
  const { client, db } = await connectDatabase(
    { uri: config.mongodb.uri, database: config.mongodb.database, ...(config.mongodb.password ? { password: config.mongodb.password } : {}), writeConcernTimeoutMs: config.mongodb.writeConcernTimeoutMs, appName: 'retention-proxy/audit' },
    log,
  );
  try {
    const audit = new AuditLog(db);
    await audit.ensureIndexes();
    const result = await sealLegacyAudit(db, audit, 'cli');
    if (v.json) io.out(JSON.stringify(result, null, 2));
    else if (result.sealed) io.out(`sealed ${String(result.details.count)} legacy audit entries: seq ${String(result.seq)}, root ${result.details.root}`);
    else if (result.reason === 'already-sealed') io.out(`already sealed by seq ${String(result.seq)} (${String(result.details.count)} legacy entries, root ${result.details.root}); nothing written`);
    else io.out('no legacy audit entries: nothing to seal, nothing written');
    return EXIT.OK;
  } finally {
    await client.close();
  }
}
