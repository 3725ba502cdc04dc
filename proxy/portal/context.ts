import { hostname } from 'node:os';
import type { Db } from 'mongodb';
import { RetentionService } from '../retention/service.js';
import type { Logger } from 'pino';
import { AuditLog } from './audit.js';
import { LoginThrottle, type LockoutPolicy } from './auth/lockout.js';
import { SessionStore, type SessionPolicy } from './auth/sessions.js';
import { IndexBuild, type IndexBuilder } from './index-build.js';
import { RoomStatsBackfill } from './room-stats-backfill.js';
import { ensureRoomStatsIndexes } from './room-stats.js';
import { RECORD_INDEXES } from './indexes.js';
import { MediaService } from './media.js';
import { ensurePlaybackIndex } from './playback.js';
import { DetailService } from './queries/details.js';
import { SavedSearchStore } from './saved-searches.js';
import { DEFAULT_QUERY_TIMEOUTS, ListService, type QueryLimits, type QueryTimeouts } from './queries/list-service.js';
import { NameResolver } from './queries/names.js';
import { UserStore } from './users.js';

export interface PortalSettings { session: SessionPolicy; lockout: LockoutPolicy; queries?: QueryTimeouts; limits?: QueryLimits }

/** Portal settings from the config's `portal` section. */
export function portalSettings(portal: { sessionIdleMinutes: number; sessionMaxHours: number; loginMaxFailures: number; loginMaxFailuresPerIp: number; loginLockoutMinutes: number; queryTimeoutMs?: number; exportTimeoutMs?: number }): PortalSettings {
  return {
    session: { idleMs: portal.sessionIdleMinutes * 60_000, maxMs: portal.sessionMaxHours * 3_600_000 },
    lockout: { maxFailuresPerUser: portal.loginMaxFailures, maxFailuresPerIp: portal.loginMaxFailuresPerIp, windowMs: portal.loginLockoutMinutes * 60_000 },
    queries: { queryMs: portal.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUTS.queryMs, exportMs: portal.exportTimeoutMs ?? DEFAULT_QUERY_TIMEOUTS.exportMs },
  };
}

export const DEFAULT_PORTAL_SETTINGS: PortalSettings = portalSettings({ sessionIdleMinutes: 30, sessionMaxHours: 12, loginMaxFailures: 5, loginMaxFailuresPerIp: 20, loginLockoutMinutes: 15 });

/** The portal's services over one database; built once per app (no singletons). */
export class PortalContext {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly throttle: LoginThrottle;
  readonly audit: AuditLog;
  readonly names: NameResolver;
  readonly lists: ListService;
  readonly details: DetailService;
  readonly media: MediaService;
  readonly savedSearches: SavedSearchStore;
  /**
   * The record collections' portal indexes, built in the background after start. `recordIndexes.status().building`
   * is the service call that says which are still building (/readyz `indexes`, Sync status).
   */
  readonly recordIndexes = new IndexBuild();
  /** The one-time room statistics backfill (daemon only, started by the app after the indexes). */
  readonly roomStatsBackfill = new RoomStatsBackfill();
  /** Retention governance (policies, holds, runs, archived data, record status): the retention routes use this. */
  readonly retention: RetentionService;

  constructor(readonly db: Db, readonly log: Logger, settings: PortalSettings = DEFAULT_PORTAL_SETTINGS, now: () => Date = () => new Date(), retention?: RetentionService) {
    this.users = new UserStore(db, now);
    this.sessions = new SessionStore(db, settings.session, now);
    this.throttle = new LoginThrottle(db, settings.lockout, now);
    this.audit = new AuditLog(db, now);
    this.names = new NameResolver(db);
    const timeouts = settings.queries ?? DEFAULT_QUERY_TIMEOUTS;
    this.lists = new ListService(db, this.names, timeouts, settings.limits);
    this.details = new DetailService(db, this.lists);
    this.media = new MediaService(db, timeouts.queryMs);
    this.savedSearches = new SavedSearchStore(db, now);
    this.retention = retention ?? new RetentionService({ db, log, writeConcernTimeoutMs: 15_000, nodeId: hostname(), now });
  }

  /**
   * Portal collections' indexes (small: awaited), and one index per filter the UI offers on the record collections,
   * built in the background (recordIndexes; /readyz lists those still building) so a large database cannot keep the
   * portal from starting.
   */
  async ensureIndexes(builder?: IndexBuilder): Promise<void> {
    await this.sessions.ensureIndexes();
    await this.throttle.ensureIndexes();
    await this.audit.ensureIndexes();
    await this.savedSearches.ensureIndexes();
    await ensurePlaybackIndex(this.audit);
    await ensureRoomStatsIndexes(this.db);
    this.recordIndexes.start(this.db, RECORD_INDEXES, this.log, builder);
  }
}
