import { parseArgs } from 'node:util';
import { ProxyError } from '../../errors.js';
import type { RetentionService } from '../../retention/service.js';
import { DATA_TYPES, type Hold, type Policy, type Run } from '../../retention/types.js';
import { isDataType } from '../../retention/data-types.js';
import { createServices, type Services } from '../../services.js';
import { loadConfigFor, loggerFor } from '../common.js';
import { EXIT, type CliIo, type ExitCode } from '../io.js';

export const RETENTION_HELP = `retention-proxy retention <verb> [options]   (see docs/retention.md)

  retention plan [--policy ID]...        compute and store what every (or the given) policy would archive and
                                         destroy now; changes no record, even for enforcing policies
  retention run [--policy ID]...         a run now: plan, then enforcing policies archive and destroy what the plan
                                         says (takes the HA lease like sync --once; exit 1 if the run failed)
  retention policies                     list the policies (source config or portal, mode dry-run or enforce)
  retention holds list [--released]      active legal holds (or released ones)
  retention holds add --name NAME --reason TEXT [--staff ID]... [--contact ID]... [--room ID]...
                      [--enquiry ID]... [--from DATE] [--to DATE]
                                         place a legal hold: what it covers is never archived or destroyed
  retention holds release ID --reason TEXT
                                         release a hold: its data becomes eligible at the next run
  retention restore --run ID --reason TEXT
  retention restore --type TYPE --id ID --reason TEXT
                                         bring archived records back to active (a run's, or one record; TYPE is one
                                         of ${DATA_TYPES.join(', ')})
  retention runs [--limit N]             the latest runs, newest first

Options: --json (machine-readable output), --config FILE, --log-level LEVEL, --help.
Actions are recorded as done by "cli". Exit codes: 0 done, 1 the run failed, 2 usage or configuration error.`;

const ACTOR = 'cli';

function fmtPolicy(p: Policy): string {
  const scope = p.scope.kind === 'all' ? 'all' : `${p.scope.kind}=${(p.scope.kind === 'room' ? p.scope.ids : p.scope.values).join(',')}`;
  return `${p._id.padEnd(24)} ${p.mode.padEnd(8)} ${p.source.padEnd(7)} ${p.dataType.padEnd(27)} active ${p.activeDays}d, archived ${p.archiveDays}d, scope ${scope}  (${p.name})`;
}

function fmtHold(h: Hold): string {
  const s = h.scope;
  const parts = [
    ...(s.staff ?? []).map((x) => `staff ${x}`), ...(s.contacts ?? []).map((x) => `contact ${x}`), ...(s.rooms ?? []).map((x) => `room ${x}`),
    ...(s.enquiries ?? []).map((x) => `enquiry ${x}`), ...(s.from ? [`from ${s.from.toISOString()}`] : []), ...(s.to ? [`to ${s.to.toISOString()}`] : []),
  ];
  return `${h._id}  ${h.releasedAt ? `released ${h.releasedAt.toISOString()}` : 'active'}  ${h.name}: ${parts.join(', ')}  (${h.reason})`;
}

export function fmtRun(r: Run): string {
  const head = `run ${r._id}: ${r.state}${r.planOnly ? ' (plan only)' : ''}, ${r.trigger}, ${r.startedAt.toISOString()}${r.durationMs !== undefined ? `, ${r.durationMs} ms` : ''}`;
  const lines = r.plan.map((p) => {
    const did = r.done.find((d) => d.policyId === p.policyId);
    return `  ${p.policyId.padEnd(24)} ${p.mode.padEnd(8)} archive ${p.archive.count} (${p.archive.bytes} B), destroy ${p.destroy.count} (${p.destroy.bytes} B), held back ${p.heldBack.count}${did ? `; done: archived ${did.archived}, destroyed ${did.destroyed}` : ''}`;
  });
  return [head, ...lines, ...r.errors.map((e) => `  error ${e.policyId ?? ''} ${e.code}: ${e.message}`)].join('\n');
}

interface Flags {
  policy?: string[] | undefined; json?: boolean | undefined; released?: boolean | undefined; name?: string | undefined; reason?: string | undefined;
  staff?: string[] | undefined; contact?: string[] | undefined; room?: string[] | undefined; enquiry?: string[] | undefined;
  from?: string | undefined; to?: string | undefined; run?: string | undefined; type?: string | undefined; id?: string | undefined; limit?: string | undefined;
}

async function dispatch(verb: string, positionals: string[], f: Flags, svc: RetentionService, services: Services, io: CliIo): Promise<ExitCode> {
  const print = (json: unknown, text: string): void => io.out(f.json ? JSON.stringify(json, null, 2) : text);
  switch (verb) {
    case 'plan':
    case 'run': {
      await services.takeLeaseForCommand();
      const req = { trigger: 'cli' as const, requestedBy: ACTOR, ...(f.policy?.length ? { policyIds: f.policy } : {}) };
      const run = verb === 'plan' ? await svc.plan(req) : await svc.run(req);
      print(run, fmtRun(run));
      return run.state === 'done' ? EXIT.OK : EXIT.INCOMPLETE;
    }
    case 'policies': {
      const items = await svc.listPolicies();
      print({ items }, items.length === 0 ? 'no retention policy: everything is kept' : items.map(fmtPolicy).join('\n'));
      return EXIT.OK;
    }
    case 'runs': {
      const items = await svc.listRuns(f.limit ? Number(f.limit) : 20);
      print({ items }, items.length === 0 ? 'no retention run yet' : items.map(fmtRun).join('\n'));
      return EXIT.OK;
    }
    case 'holds': {
      const [sub, id] = positionals;
      if (sub === 'list' || sub === undefined) {
        const items = await svc.listHolds(f.released ? 'released' : 'active');
        print({ items }, items.length === 0 ? `no ${f.released ? 'released' : 'active'} legal hold` : items.map(fmtHold).join('\n'));
        return EXIT.OK;
      }
      if (sub === 'add') {
        const scope = {
          ...(f.staff ? { staff: f.staff } : {}), ...(f.contact ? { contacts: f.contact } : {}), ...(f.room ? { rooms: f.room } : {}),
          ...(f.enquiry ? { enquiries: f.enquiry } : {}), ...(f.from ? { from: f.from } : {}), ...(f.to ? { to: f.to } : {}),
        };
        const hold = await svc.createHold({ name: f.name ?? '', reason: f.reason ?? '', scope: scope as never }, ACTOR);
        print(hold, `hold ${hold._id} placed: ${fmtHold(hold)}`);
        return EXIT.OK;
      }
      if (sub === 'release') {
        if (!id) throw new ProxyError('USAGE', 'retention holds release ID --reason TEXT');
        const hold = await svc.releaseHold(id, f.reason ?? '', ACTOR);
        print(hold, `hold ${hold._id} released; its data is eligible at the next run`);
        return EXIT.OK;
      }
      throw new ProxyError('USAGE', `retention holds ${sub}: use list, add or release`);
    }
    case 'restore': {
      if (f.run) {
        const r = await svc.restoreRun(f.run, f.reason ?? '', ACTOR);
        print(r, `${r.restored} record(s) and media of run ${f.run} restored`);
        return EXIT.OK;
      }
      if (!f.type || !f.id) throw new ProxyError('USAGE', 'retention restore needs --run ID, or --type TYPE --id ID (and --reason TEXT)');
      if (!isDataType(f.type)) throw new ProxyError('USAGE', `--type must be one of ${DATA_TYPES.join(', ')}`);
      const r = await svc.restoreRecord(f.type, f.id, f.reason ?? '', ACTOR);
      print(r, `${f.type} ${f.id} restored`);
      return EXIT.OK;
    }
    default:
      throw new ProxyError('USAGE', `unknown retention verb ${verb}\n\n${RETENTION_HELP}`);
  }
}

/** `retention plan|run|policies|holds|restore|runs` (docs/retention.md). */
export async function retentionCommand(argv: string[], io: CliIo, signal: AbortSignal): Promise<ExitCode> {
  const [verb, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    strict: true,
    allowPositionals: true,
    options: {
      policy: { type: 'string', multiple: true }, json: { type: 'boolean' }, released: { type: 'boolean' }, name: { type: 'string' }, reason: { type: 'string' },
      staff: { type: 'string', multiple: true }, contact: { type: 'string', multiple: true }, room: { type: 'string', multiple: true }, enquiry: { type: 'string', multiple: true },
      from: { type: 'string' }, to: { type: 'string' }, run: { type: 'string' }, type: { type: 'string' }, id: { type: 'string' }, limit: { type: 'string' },
      config: { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !verb || verb === '--help' || verb === '-h' || verb === 'help') {
    io.out(RETENTION_HELP);
    return values.help || verb ? EXIT.OK : EXIT.USAGE;
  }
  if (!['plan', 'run', 'policies', 'holds', 'restore', 'runs'].includes(verb)) {
    io.err(`unknown retention verb: ${verb}\n\n${RETENTION_HELP}`);
    return EXIT.USAGE;
  }
  const config = await loadConfigFor(values);
  const log = loggerFor(config, values, 'stderr');
  const services = await createServices(config, log, signal);
  try {
    return await dispatch(verb, positionals, values, services.retention, services, io);
  } finally {
    await services.close();
  }
}
