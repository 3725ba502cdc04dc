import { parseArgs } from 'node:util';
import { connectDatabase } from '../../db/connect.js';
import { ProxyError } from '../../errors.js';
import { dayRange } from '../../integrity/digest.js';
import { makeDigest } from '../../integrity/digest-service.js';
import { AuditLog } from '../../portal/audit.js';
import { loadConfigFor, loggerFor } from '../common.js';
import { EXIT, type CliIo, type ExitCode } from '../io.js';

export const DIGEST_HELP = `retention-proxy digest [--day YYYY-MM-DD] [--json]

Makes the integrity digest of one UTC day: the archives created that day (their timestamp) and imported, their record
and media file counts, the Merkle root over their hashes, and the audit chain's head. Keeps it in integrity.digests,
appends it to the audit chain (integrity.digest) and prints it as one line: keep that line outside the database and
check it later with \`retention-proxy verify --digest FILE\`. docs/integrity.md defines every field.

  --day YYYY-MM-DD   the day (default: today, UTC)
  --json             the digest pretty-printed instead of the one line
Common options: --config FILE, --log-level LEVEL`;

/** `digest`: one day's digest line, made on demand (the daemon makes it after each day's imports). */
export async function digestCommand(argv: string[], io: CliIo, now: () => Date = () => new Date()): Promise<ExitCode> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: { day: { type: 'string' }, json: { type: 'boolean' }, config: { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (v.help) {
    io.out(DIGEST_HELP);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new ProxyError('USAGE', `digest takes no arguments (got ${positionals.join(' ')})`);
  const day = v.day ?? now().toISOString().slice(0, 10);
  dayRange(day);
  const config = await loadConfigFor(v);
  const log = loggerFor(config, { ...v, 'log-level': v['log-level'] ?? 'warn' }, 'stderr');
  const { client, db } = await connectDatabase(
    { uri: config.mongodb.uri, database: config.mongodb.database, ...(config.mongodb.password ? { password: config.mongodb.password } : {}), writeConcernTimeoutMs: config.mongodb.writeConcernTimeoutMs, appName: 'retention-proxy/digest' },
    log,
  );
  try {
    const audit = new AuditLog(db);
    await audit.ensureIndexes();
    const { digest, line } = await makeDigest(db, audit, log, { day, site: config.siteId, now: now() });
    io.out(v.json ? JSON.stringify(digest, null, 2) : line);
    return EXIT.OK;
  } finally {
    await client.close();
  }
}
