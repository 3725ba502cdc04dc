import type { FastifyInstance } from 'fastify';
import type { Db } from 'mongodb';
import type { Outbox } from '../db/outbox.js';
import { readSiteStatus } from '../db/site-status.js';
import type { LeaseStatus } from '../ha/lease.js';
import type { ReplicaSetHealth } from '../ha/replica-set-health.js';
import type { DiskStatus } from '../pipeline/disk-status.js';
import type { RunnerStatus } from '../pipeline/sync-runner.js';
import { probeDatabase } from '../db/probe.js';

export interface HealthRoutesOptions {
  db: Db;
  outbox: Outbox;
  /** Shows the site's last successful cycle (any node) when given. */
  siteId?: string;
  runnerStatus: () => RunnerStatus;
  /** This node's identity when HA is off (it always leads). */
  nodeId?: string;
  /** HA: the lease as this node sees it; undefined when HA is off. */
  lease?: () => LeaseStatus | undefined;
  replicaSet?: () => Promise<ReplicaSetHealth>;
  /** The staging disk; omitted: no `disk` in the answer. */
  disk?: () => Promise<DiskStatus>;
  /** The portal's record indexes still building in the background (and failed ones); omitted: no `indexes`. */
  indexes?: () => { building: string[]; failed: string[] };
}

const nullable = (type: string): { type: string[] } => ({ type: [type, 'null'] });
const ReadySchema = {
  type: 'object',
  properties: {
    ready: { type: 'boolean' },
    database: { type: 'string', enum: ['ok', 'unreachable'] },
    outboxDepth: nullable('integer'),
    sync: {
      type: 'object',
      additionalProperties: true,
      properties: { running: { type: 'boolean' }, lastOk: { type: 'boolean' }, lastSuccessAt: { type: 'string' }, lastFinishedAt: { type: 'string' } },
    },
    lastSuccessfulCycle: {
      type: ['object', 'null'],
      description: 'The site\'s last cycle that left nothing to do, whichever node ran it',
      properties: { at: { type: 'string' }, nodeId: { type: 'string' } },
    },
    lease: {
      type: 'object',
      properties: {
        enabled: { type: 'boolean' },
        holder: { type: 'boolean' },
        nodeId: { type: 'string' },
        token: nullable('integer'),
        expiresAt: nullable('string'),
        leader: {
          type: ['object', 'null'],
          properties: { nodeId: { type: 'string' }, token: { type: 'integer' }, expiresAt: { type: 'string' } },
        },
      },
    },
    disk: {
      type: 'object',
      description: 'The staging disk: free space, the reserve (staging.minFreeBytes), and how many archives DISK_FULL holds back (this route is public: no paths or archive names)',
      properties: {
        freeBytes: nullable('integer'),
        reserveBytes: { type: 'integer' },
        belowReserve: { type: 'boolean' },
        full: { type: 'boolean' },
        waitingArchives: { type: 'integer', description: 'How many archives wait for disk space (their names: `check`)' },
      },
    },
    indexes: {
      type: 'object',
      description: 'The portal\'s record indexes (`collection.index`) still building in the background after start, and those that failed (retried at the next start); lists are slower until `building` is empty',
      properties: { building: { type: 'array', items: { type: 'string' } }, failed: { type: 'array', items: { type: 'string' } } },
    },
    replicaSet: {
      type: 'object',
      properties: {
        kind: { type: 'string', enum: ['replicaSet', 'standalone', 'unknown'] },
        set: { type: 'string' },
        primary: nullable('string'),
        degraded: { type: 'boolean' },
        majorityWritable: nullable('boolean'),
        dataBearingDown: { type: 'array', items: { type: 'string' } },
        members: {
          type: 'array',
          items: { type: 'object', properties: { name: { type: 'string' }, state: { type: 'string' }, healthy: { type: 'boolean' }, dataBearing: { type: 'boolean' }, votes: { type: 'number' }, priority: { type: 'number' } } },
        },
        detail: { type: 'string' },
      },
    },
  },
} as const;

/**
 * Liveness (the process answers) and readiness. Ready = the database answers: a follower serves the portal too, so a
 * healthy follower is ready; `lease.holder` says which node pulls (keepalived reads it), and a degraded replica set
 * shows in `replicaSet` without making the node unready (reads still work; imports wait).
 */
export async function healthRoutes(app: FastifyInstance, opts: HealthRoutesOptions): Promise<void> {
  app.get('/healthz', { config: { role: 'public' }, schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, () => ({ ok: true }));

  app.get('/readyz', { config: { role: 'public' }, schema: { response: { 200: ReadySchema, 503: ReadySchema } } }, async (_req, reply) => {
    let { database, outboxDepth } = await probeDatabase(opts.db, opts.outbox);
    let lastSuccessfulCycle: { at: string; nodeId: string } | null = null;
    if (database === 'ok' && opts.siteId !== undefined) {
      try {
        const site = await readSiteStatus(opts.db, opts.siteId);
        if (site) lastSuccessfulCycle = { at: site.lastSuccessAt.toISOString(), nodeId: site.nodeId };
      } catch {
        database = 'unreachable';
        outboxDepth = null;
      }
    }
    const ready = database === 'ok';
    const ha = opts.lease?.();
    const lease = ha
      ? { enabled: true, ...ha }
      : { enabled: false, holder: true, nodeId: opts.nodeId ?? '', token: null, expiresAt: null, leader: null };
    const replicaSet = database === 'ok' && opts.replicaSet ? await opts.replicaSet() : undefined;
    // A full staging disk stops imports, not the portal: it shows here (disk.full) without making the node unready.
    const status = opts.disk ? await opts.disk() : undefined;
    const disk = status && { freeBytes: status.freeBytes, reserveBytes: status.reserveBytes, belowReserve: status.belowReserve, full: status.full, waitingArchives: status.waiting.length };
    return reply.code(ready ? 200 : 503).send({
      ready, database, outboxDepth, lastSuccessfulCycle, sync: opts.runnerStatus(), lease, ...(disk ? { disk } : {}), ...(replicaSet ? { replicaSet } : {}),
      ...(opts.indexes ? { indexes: opts.indexes() } : {}),
    });
  });
  await Promise.resolve();
}
