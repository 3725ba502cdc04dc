import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { MongoClient, type Db } from 'mongodb';
import { inject } from 'vitest';
import { pino } from 'pino';
import { buildApp, type AppDeps } from '../../proxy/app.js';
import { JobStore } from '../../proxy/db/jobs.js';
import { Outbox } from '../../proxy/db/outbox.js';
import type { PipelineContext } from '../../proxy/pipeline/context.js';
import { SyncRunner } from '../../proxy/pipeline/sync-runner.js';
import { UserStore } from '../../proxy/portal/users.js';

export const ADMIN = { username: 'admin', password: 'Admin-Pass-1' };
export const AUDITOR = { username: 'auditor1', password: 'Auditor-Pass-1' };

/**
 * The real app over the test database `dbName`, with its own client (the app closes it), without scheduler or
 * SFTP (the runner is never started). `indexesBuilt`: also wait until the record indexes the app builds in the
 * background after start are all there (/readyz), for a test that must not share FerretDB's one write lock with them
 * (a sign-in right after start could otherwise meet 503 DB_BUSY there).
 */
export async function portalApp(dbName: string, extra: Partial<AppDeps> = {}, opts: { ready?: boolean; indexesBuilt?: boolean } = {}): Promise<FastifyInstance> {
  const client = new MongoClient(inject('mongoUri'), { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  const db = client.db(dbName);
  // Errors and warnings the app logs are kept (not printed) so that a failed helper call can say what went wrong on the
  // server (a refusal such as DB_BUSY is logged as a warning).
  const errors: LoggedErrors = { last: [], count: 0 };
  const keep = (line: string) => {
    errors.count++;
    if (errors.last.push(line.trim()) > 3) errors.last.shift();
  };
  const log = process.env.TEST_LOG_LEVEL ? pino({ level: process.env.TEST_LOG_LEVEL }) : pino({ level: 'warn' }, { write: keep });
  const jobs = new JobStore(db, 10_000);
  const outbox = new Outbox(db, 10_000);
  const runner = new SyncRunner({ log, db, jobs, outbox } as unknown as PipelineContext, { retryTimer: false });
  const app = await buildApp({ log, client, db, jobs, outbox, runner, ...extra });
  serverErrors.set(app, errors);
  if (opts.ready !== false) await app.ready();
  if (opts.ready !== false && opts.indexesBuilt === true) {
    try {
      for (let i = 0; ; i++) {
        const ready = (await app.inject({ url: '/readyz' })).json<{ indexes?: { building: string[]; failed?: string[] } }>();
        if ((ready.indexes?.failed?.length ?? 0) > 0) throw new Error(`record indexes failed: ${ready.indexes?.failed?.join(', ') ?? ''}`);
        if ((ready.indexes?.building.length ?? 0) === 0) break;
        if (i >= 600) throw new Error(`record indexes still building after 60 s: ${ready.indexes?.building.join(', ') ?? ''}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch (err) {
      await app.close();
      throw err;
    }
  }
  return app;
}

/** What each app made by portalApp logged at level warn or above: how many lines, the last three (for a failed login's message). */
interface LoggedErrors { last: string[]; count: number }
const serverErrors = new WeakMap<FastifyInstance, LoggedErrors>();

export async function createUsers(db: Db): Promise<void> {
  const users = new UserStore(db);
  await users.create(ADMIN.username, ADMIN.password, 'admin');
  await users.create(AUDITOR.username, AUDITOR.password, 'auditor');
}

export interface Login { cookie: string; csrf: string; headers: Record<string, string> }

function sessionCookie(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === 'rp_session');
  if (!c) throw new Error(`no session cookie (status ${res.statusCode}: ${res.body})`);
  return `rp_session=${c.value}`;
}

/** Signs in and returns the cookie and CSRF header to send with later requests. */
export async function login(app: FastifyInstance, user: { username: string; password: string }): Promise<Login> {
  const errors = serverErrors.get(app);
  const before = errors?.count ?? 0;
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: user });
  if (res.statusCode !== 200) {
    // Only what was logged during this request (at most the last three lines).
    const n = errors ? Math.min(errors.last.length, errors.count - before) : 0;
    const logged = errors && n > 0 ? errors.last.slice(-n).join('\n') : '';
    throw new Error(`login ${user.username}: ${res.statusCode} ${res.body}${logged ? `\nserver log:\n${logged}` : ''}`);
  }
  const cookie = sessionCookie(res);
  const csrf = (res.json<{ csrfToken: string }>()).csrfToken;
  return { cookie, csrf, headers: { cookie, 'x-csrf-token': csrf } };
}
