/**
 * What bench/portal.ts and bench/year.ts share to time the portal's lists: an app over a database, signed in as an
 * auditor (fastify inject: session check, validation, query, name resolution, room statistics, audit of searches,
 * serialisation), every list and a search on each with the bare driver query that returns the same rows, and the
 * timing loop.
 */
import type { Db, Document, MongoClient } from 'mongodb';
import { pino } from 'pino';
import { buildApp } from '../proxy/app.js';
import { JobStore } from '../proxy/db/jobs.js';
import { Outbox } from '../proxy/db/outbox.js';
import type { PipelineContext } from '../proxy/pipeline/context.js';
import { SyncRunner } from '../proxy/pipeline/sync-runner.js';
import { buildListQuery } from '../proxy/portal/queries/build.js';
import { LIST_DEFS, LIST_TYPES, type ListTypeName } from '../proxy/portal/queries/types.js';
import { ROOM_STATS_COLLECTION } from '../proxy/portal/room-stats.js';
import { UserStore } from '../proxy/portal/users.js';
import { p50p95 } from './percentile.js';

export interface Scenario { name: string; url: string; driver: () => Promise<unknown> }

export interface PortalApp { app: Awaited<ReturnType<typeof buildApp>>; cookie: string; readyS: number; indexS: number }

function valueAt(doc: Document | null, path: string): unknown {
  let v: unknown = doc;
  for (const k of path.split('.')) v = Array.isArray(v) ? (v[0] as Document | undefined)?.[k] : typeof v === 'object' && v !== null ? (v as Document)[k] : undefined;
  return Array.isArray(v) ? v[0] : v;
}

/** A search term from a sample document's first text field: its longest word (at least 3 characters). */
export async function searchTerm(db: Db, type: ListTypeName): Promise<string> {
  const def = LIST_DEFS[type];
  const n = await db.collection(def.collection).estimatedDocumentCount();
  // toArray, not next(): the cursor is closed here, not left open on the server until the client closes.
  const [sample = null] = await db.collection(def.collection).find(def.base ?? {}).skip(Math.floor(n / 3)).limit(1).toArray();
  for (const field of def.text) {
    const v = valueAt(sample, field);
    const words = (typeof v === 'string' ? v : '').split(/[^\p{L}\p{N}@.+-]+/u).filter((w) => w.length >= 3).sort((a, b) => b.length - a.length);
    if (words[0]) return words[0].slice(0, 12);
  }
  return 'a';
}

/** Every list's first page (limit 50), and with `terms` a search on each, with the driver query of the same rows. */
export function scenarios(db: Db, terms?: Record<ListTypeName, string>): Scenario[] {
  const out: Scenario[] = [];
  for (const type of LIST_TYPES) {
    const def = LIST_DEFS[type];
    const driver = (query: Record<string, string>) => async (): Promise<unknown> => {
      const built = buildListQuery(def, query);
      const docs = await db.collection(def.collection).find(built.filter).sort(built.sort).limit(51).toArray();
      if (type === 'rooms') await db.collection(ROOM_STATS_COLLECTION).find({ _id: { $in: docs.map((d) => String(d.roomId)) } } as Document).toArray();
      return docs;
    };
    out.push({ name: `${type}: list`, url: `/api/v1/${type}?limit=50`, driver: driver({}) });
    if (!terms) continue;
    const q = terms[type];
    out.push({ name: `${type}: search "${q}"`, url: `/api/v1/${type}?limit=50&q=${encodeURIComponent(q)}`, driver: driver({ q }) });
  }
  return out;
}

/**
 * The portal over database `dbName` (not listening: inject), once its record indexes are built, and an auditor's
 * session cookie. The caller closes `app`.
 */
export async function openPortalApp(appClient: MongoClient, dbName: string): Promise<PortalApp> {
  const log = pino({ level: 'silent' });
  const appDb = appClient.db(dbName);
  const jobs = new JobStore(appDb, 60_000);
  const outbox = new Outbox(appDb, 60_000);
  const runner = new SyncRunner({ log, db: appDb, jobs, outbox } as unknown as PipelineContext, { retryTimer: false });
  const app = await buildApp({ log, client: appClient, db: appDb, jobs, outbox, runner });
  try {
    const t1 = performance.now();
    await app.ready(); // starts the portal's record indexes in the background (issue 12 item 10)
    const readyS = (performance.now() - t1) / 1000;
    for (let i = 0; ; i++) {
      const ready = (await app.inject({ url: '/readyz' })).json<{ indexes?: { building: string[]; failed?: string[] } }>();
      if ((ready.indexes?.failed?.length ?? 0) > 0) throw new Error(`portal indexes failed to build: ${ready.indexes?.failed?.join(', ') ?? ''}`);
      if ((ready.indexes?.building.length ?? 0) === 0) break;
      // Six hours: a large FerretDB database builds its indexes slowly, but a build that never ends is a failed run.
      if (i >= 43_200) throw new Error(`portal indexes still building after 6 h: ${ready.indexes?.building.join(', ') ?? ''}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const indexS = (performance.now() - t1) / 1000;
    const user = `bench${Date.now().toString(36)}`;
    await new UserStore(appDb).create(user, 'Bench-Pass-1', 'auditor');
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: user, password: 'Bench-Pass-1' } });
    if (login.statusCode !== 200) throw new Error(`bench sign-in: ${login.statusCode} ${login.body.slice(0, 200)}`);
    const cookie = `rp_session=${login.cookies.find((c) => c.name === 'rp_session')?.value ?? ''}`;
    return { app, cookie, readyS, indexS };
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
}

export type Measured = { ok: true; o50: number; o95: number; p50: number; p95: number } | { ok: false; failure: string };

/**
 * API and driver alternated (so that both see the same background load), `iterations` timed after `warmups`
 * untimed ones. Without `driver` (`withDriver: false`) only the API is timed (p50/p95 of the driver then 0).
 */
export async function measure(p: Pick<PortalApp, 'app' | 'cookie'>, s: Scenario, iterations: number, opts: { warmups?: number; withDriver?: boolean } = {}): Promise<Measured> {
  const ours: number[] = [];
  const peer: number[] = [];
  for (let i = -(opts.warmups ?? 2); i < iterations; i++) {
    const a = performance.now();
    const res = await p.app.inject({ url: s.url, headers: { cookie: p.cookie } });
    const b = performance.now();
    // A failed list (e.g. QUERY_TIMEOUT on FerretDB at scale) is a failed row, not the end of the group.
    if (res.statusCode !== 200) return { ok: false, failure: `${res.statusCode} ${res.body.slice(0, 200)}` };
    if (opts.withDriver !== false) {
      try {
        await s.driver();
      } catch (err) {
        return { ok: false, failure: `driver: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300) };
      }
    }
    const d = performance.now();
    if (i >= 0) {
      ours.push(b - a);
      peer.push(d - b);
    }
  }
  return { ok: true, ...p50p95(ours, peer) };
}
