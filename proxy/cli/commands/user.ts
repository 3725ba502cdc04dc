import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { connectDatabase } from '../../db/connect.js';
import { errorCodeOf, ProxyError } from '../../errors.js';
import { AuditLog } from '../../portal/audit.js';
import { ROLES, type Role } from '../../portal/roles.js';
import { auditSystemChange } from '../../portal/system-audit.js';
import { UserStore } from '../../portal/users.js';
import { auditedChange } from '../audited-change.js';
import { loadConfigFor, loggerFor } from '../common.js';
import { EXIT, type CliIo, type ExitCode } from '../io.js';

const HELP = `retention-proxy user <add|list|passwd> [options]

  user add --username NAME --role admin|auditor --password-file PATH   create a portal account
  user passwd --username NAME --password-file PATH                      set an account's password
  user list [--json]                                                    list the accounts

--password-file - reads the password from standard input (one line). Passwords follow the Archive Key rules:
at least 8 characters with upper- and lower-case letters and a digit or symbol.
Common options: --config FILE, --log-level LEVEL`;

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stdin) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(parts).toString('utf8');
}

async function readPassword(path: string | undefined, stdin: NodeJS.ReadableStream): Promise<string> {
  if (!path) throw new ProxyError('USAGE', '--password-file is required (a path, or - for standard input)');
  let text: string;
  try {
    text = path === '-' ? await readStdin(stdin) : await readFile(path, 'utf8');
  } catch (err) {
    throw new ProxyError('SECRET_FILE_UNREADABLE', `${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const password = text.replace(/\r?\n$/, '');
  if (password.includes('\n')) throw new ProxyError('USAGE', 'the password file must hold one line');
  return password;
}

function roleOf(text: string | undefined): Role {
  const role = ROLES.find((r) => r === text);
  if (!role) throw new ProxyError('USAGE', `--role must be one of ${ROLES.join(', ')}`);
  return role;
}

/** `user add|list|passwd`: portal accounts from the command line (the first admin is made this way at install). */
export async function userCommand(argv: string[], io: CliIo, stdin: NodeJS.ReadableStream = process.stdin): Promise<ExitCode> {
  const [sub, ...rest] = argv;
  // `user --help` / `user -h` (no verb): the help, exit 0, as every other command's --help.
  if (sub === '--help' || sub === '-h') {
    io.out(HELP);
    return EXIT.OK;
  }
  const { values: v } = parseArgs({
    args: rest,
    strict: true,
    options: {
      username: { type: 'string' }, role: { type: 'string' }, 'password-file': { type: 'string' }, json: { type: 'boolean' },
      config: { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help || !sub || !['add', 'list', 'passwd'].includes(sub)) {
    io.out(HELP);
    return v.help ? EXIT.OK : EXIT.USAGE;
  }
  if (sub !== 'list' && !v.username) throw new ProxyError('USAGE', '--username is required');
  const role = sub === 'add' ? roleOf(v.role) : undefined;
  const password = sub === 'list' ? undefined : await readPassword(v['password-file'], stdin);

  const config = await loadConfigFor(v);
  const log = loggerFor(config, { ...v, 'log-level': v['log-level'] ?? 'warn' }, 'stderr');
  const { client, db } = await connectDatabase(
    { uri: config.mongodb.uri, database: config.mongodb.database, ...(config.mongodb.password ? { password: config.mongodb.password } : {}), writeConcernTimeoutMs: config.mongodb.writeConcernTimeoutMs, appName: 'retention-proxy/user' },
    log,
  );
  try {
    const users = new UserStore(db);
    const auditLog = new AuditLog(db);
    const username = v.username ?? '';
    // Every account change is audited (user `cli`), refused ones too (with the error code); a change that went
    // through is never recorded as failed because its audit entry could not be written (auditedChange).
    const audited = <T>(action: 'user.create' | 'user.update', details: Record<string, unknown>, change: () => Promise<T>): Promise<T> => auditedChange(
      change,
      (outcome, extra) => auditSystemChange(auditLog, 'cli', { action, target: `users/${username}`, ...(outcome === 'failed' ? { outcome } : {}), details: { ...details, ...extra } }),
      errorCodeOf,
      () => io.err(`${sub === 'add' ? 'account created' : 'password set'} for ${username}, but its audit entry could not be written`),
    );
    switch (sub) {
      case 'add': {
        const user = await audited('user.create', { role }, () => users.create(username, password ?? '', role ?? 'auditor'));
        io.err(`created ${user.role} ${user.username}`);
        return EXIT.OK;
      }
      case 'passwd': {
        await audited('user.update', { changed: ['password'] }, async () => {
          await users.update(username, { password: password ?? '' });
          await db.collection('portal.sessions').deleteMany({ username });
        });
        io.err(`password of ${username} set; its sessions were ended`);
        return EXIT.OK;
      }
      default: {
        const list = await users.list();
        if (v.json) io.out(JSON.stringify(list, null, 2));
        else for (const u of list) io.out(`${u.username.padEnd(24)} ${u.role.padEnd(8)} ${u.disabled ? 'disabled' : 'enabled '} last sign-in ${u.lastLoginAt?.toISOString() ?? 'never'}`);
        return EXIT.OK;
      }
    }
  } finally {
    await client.close();
  }
}
