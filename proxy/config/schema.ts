import { Type, type Static, type TString } from '@sinclair/typebox';

/**
 * The one configuration schema. Defaults live here and nowhere else.
 * Secrets (`secret: true`) may be given inline or as `<key>File` (a path, or a bare name resolved in
 * systemd's $CREDENTIALS_DIRECTORY); they are never logged.
 */
const secret = (description: string): TString => Type.String({ minLength: 1, description, secret: true });
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export const ConfigSchema = Type.Object(
  {
    siteId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$', description: 'This backup site (one proxy, or one HA pair)' }),
    serviceId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only pull archives of this vendor service ID' })),
    sftp: Type.Object(
      {
        host: Type.String({ minLength: 1 }),
        port: Type.Integer({ minimum: 1, maximum: 65535, default: 22 }),
        username: Type.String({ minLength: 1 }),
        privateKey: secret('SSH private key (OpenSSH or PEM) used to log in'),
        passphrase: Type.Optional(secret('Passphrase of the private key')),
        hostKeyFingerprint: Type.String({ pattern: '^SHA256:[A-Za-z0-9+/]{43}=?$', description: 'Pinned server host key, as `ssh-keygen -lf` prints it' }),
        remoteDir: Type.String({ minLength: 1, default: '/' }),
        concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 64 }),
        chunkSize: Type.Integer({ minimum: 0, maximum: 4 * 1024 * 1024, default: 0, description: '0 = the server\'s maximum read length' }),
        checkpointBytes: Type.Integer({ minimum: 4096, default: 8 * 1024 * 1024, description: 'Persist the download high-water mark every this many bytes' }),
        settleSeconds: Type.Number({ minimum: 0, maximum: 3600, default: 5, description: 'Gap between the two listings that decide a file is complete' }),
        readyTimeoutMs: Type.Integer({ minimum: 1000, default: 20_000 }),
        stallTimeoutMs: Type.Integer({ minimum: 1000, default: 60_000 }),
        peers: Type.Array(
          Type.Object(
            {
              host: Type.String({ minLength: 1 }),
              port: Type.Integer({ minimum: 1, maximum: 65535, default: 22 }),
              hostKeyFingerprint: Type.String({ pattern: '^SHA256:[A-Za-z0-9+/]{43}=?$' }),
            },
            { additionalProperties: false },
          ),
          {
            default: [],
            description: 'Further SFTP servers (same username, key and remoteDir) collected from too, e.g. the other HA node\'s inbox: a list of {host, port (default 22), hostKeyFingerprint}; JSON in the environment variable. An archive on several servers is imported once',
          },
        ),
        deleteAfterDownloaded: Type.Boolean({
          default: false,
          description: 'Remove each archive and its .sha256 from every server it was found on once "Data Downloaded" was delivered (HA: the leader only). For the customer\'s own inbox; off when the vendor runs the server',
        }),
      },
      { additionalProperties: false },
    ),
    archive: Type.Object(
      {
        key: secret('The Archive Key set in the vendor dashboard'),
        allowUnencrypted: Type.Boolean({ default: false, description: 'Accept archives that are not encrypted (a downgrade)' }),
        requireManifest: Type.Boolean({ default: true, description: 'Refuse archives without manifest.json (MANIFEST_MISSING); see docs/archive-format.md' }),
        maxTotalBytes: Type.Integer({ minimum: 1, default: 256 * GiB }),
        maxEntries: Type.Integer({ minimum: 1, default: 1_000_000 }),
        maxEntryRatio: Type.Integer({ minimum: 2, default: 1000 }),
      },
      { additionalProperties: false },
    ),
    mongodb: Type.Object(
      {
        uri: Type.String({ minLength: 1, pattern: '^mongodb(\\+srv)?://' }),
        password: Type.Optional(secret('Password for the user in the URI')),
        database: Type.String({ minLength: 1, maxLength: 38, pattern: '^[^/\\\\. "$*<>:|?]+$', default: 'retention' }),
        writeConcernTimeoutMs: Type.Integer({ minimum: 100, default: 15_000 }),
        batchSize: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
        allowSingleNode: Type.Boolean({
          default: false,
          description: 'Accept a database where a write is durable on one server only (standalone, one-member replica set, write majority of 1): `check` then WARNs instead of FAILing',
        }),
      },
      { additionalProperties: false },
    ),
    vendor: Type.Object(
      {
        statusUrl: Type.String({ pattern: '^https?://', description: 'Where status reports are POSTed' }),
        signingSecret: secret('Shared secret for the HMAC signature of status reports'),
        timeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
      },
      { additionalProperties: false },
    ),
    staging: Type.Object(
      {
        dir: Type.String({ minLength: 1, default: '/var/lib/retention-proxy/staging' }),
        keepArchiveDays: Type.Integer({ minimum: 0, default: 0, description: '0 deletes the raw archive once reported; N keeps an offline copy N days' }),
        minFreeBytes: Type.Integer({ minimum: 0, default: 2 * GiB, description: 'Reserve never written into: checked with the expanded size before extracting and while writing (DISK_FULL)' }),
        memoryBytes: Type.Integer({
          minimum: 0,
          maximum: GiB,
          default: 16 * MiB,
          description: 'Media files of at most 256 KiB (stored and expanded) are held in memory between extraction and import, up to this many bytes per archive (each counted as its size + 512), instead of written to the staging directory; 0 writes every file',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    schedule: Type.Object(
      {
        hourUtc: Type.Integer({ minimum: 0, maximum: 23, default: 3, description: 'Daily cycle at this UTC hour (match the vendor schedule)' }),
        pollIntervalMinutes: Type.Number({ minimum: 0, default: 0, description: '0 = only the daily cycle' }),
        retryBaseSeconds: Type.Number({ minimum: 0.1, default: 30 }),
        retryMaxSeconds: Type.Number({ minimum: 1, default: 3600 }),
        maxAttempts: Type.Integer({ minimum: 1, default: 5, description: 'Corrupt transfers (size or checksum mismatch, remote file changed) of one archive before it is marked failed; transient failures never count' }),
      },
      { additionalProperties: false, default: {} },
    ),
    portal: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8443 }),
        tls: Type.Object(
          {
            certFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate (chain) for HTTPS; without it the portal speaks plain HTTP, which `run` refuses on a non-loopback host unless allowPlainHttp' })),
            key: Type.Optional(secret('PEM private key of the certificate (give it as keyFile)')),
          },
          { additionalProperties: false, default: {} },
        ),
        allowPlainHttp: Type.Boolean({ default: false, description: 'Serve plain HTTP on a non-loopback host (only behind a TLS-terminating reverse proxy); without it `run` refuses to start without portal.tls' }),
        trustProxy: Type.String({ default: '', description: 'Comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For/-Proto/-Host are trusted (client address for lockout and audit); empty = none' }),
        adminPassword: Type.Optional(secret('Creates or updates the portal user `admin` at start (the vendor dashboard\'s "Retention Portal administrator password")')),
        sessionIdleMinutes: Type.Number({ minimum: 1, default: 30, description: 'A session ends after this long without a request' }),
        sessionMaxHours: Type.Number({ minimum: 0.1, default: 12, description: 'A session ends this long after sign-in, however active' }),
        loginMaxFailures: Type.Integer({ minimum: 1, default: 5, description: 'Failed sign-ins of one user name within loginLockoutMinutes that lock it' }),
        loginMaxFailuresPerIp: Type.Integer({ minimum: 1, default: 20, description: 'Failed sign-ins from one client address within loginLockoutMinutes that lock it' }),
        loginLockoutMinutes: Type.Number({ minimum: 0.01, default: 15, description: 'Window in which failures count, and how long a lock lasts' }),
        queryTimeoutMs: Type.Integer({ minimum: 1, default: 15000, description: 'Server-side time limit (maxTimeMS) of one portal list page, search or detail; beyond it 503 QUERY_TIMEOUT' }),
        exportTimeoutMs: Type.Integer({ minimum: 1, default: 600000, description: 'Server-side time limit (maxTimeMS) of one streamed export (CSV, JSON, ZIP), summed over its batches' }),
      },
      { additionalProperties: false, default: {} },
    ),
    ha: Type.Object(
      {
        enabled: Type.Boolean({ default: false, description: 'Two proxies (the HA pair, same siteId) on one replica set: only the holder of the leader lease pulls and imports' }),
        nodeId: Type.String({ maxLength: 128, default: '', description: 'This node in the lease, logs and /readyz; empty = the host name' }),
        leaseTtlSeconds: Type.Number({ minimum: 1, maximum: 600, default: 30, description: 'Leader lease lifetime (server time); renewed every third of it; a follower takes over within it' }),
      },
      { additionalProperties: false, default: {} },
    ),
    retention: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Run the retention policies on retention.schedule (HA: the leader only); dry-run policies only report' }),
        schedule: Type.String({ minLength: 9, default: '30 4 * * *', description: 'Cron expression (UTC) of the nightly retention run' }),
        batchSize: Type.Integer({ minimum: 1, maximum: 10_000, default: 500, description: 'Records archived or destroyed per batch (one majority write each)' }),
        batchPauseMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 200, description: 'Pause between two retention batches, so the portal and imports keep working' }),
        policies: Type.Array(
          Type.Object(
            {
              id: Type.String({ pattern: '^[a-z0-9-]{1,64}$' }),
              name: Type.String({ minLength: 1, maxLength: 200 }),
              dataType: Type.String({ minLength: 1 }),
              scope: Type.Object(
                {
                  kind: Type.Union([Type.Literal('all'), Type.Literal('room'), Type.Literal('department'), Type.Literal('channel')]),
                  ids: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
                  values: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
                },
                { additionalProperties: false, default: { kind: 'all' } },
              ),
              activeDays: Type.Integer({ minimum: 1, maximum: 5000 }),
              archiveDays: Type.Integer({ minimum: 0, maximum: 5000 }),
              mode: Type.Union([Type.Literal('dry-run'), Type.Literal('enforce')], { default: 'dry-run' }),
            },
            { additionalProperties: false },
          ),
          { default: [], description: 'Retention policies kept in the configuration (read-only in the portal; see docs/retention.md). JSON in the environment variable' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    integrity: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'After each sync cycle that imported archives, make the integrity digest of their UTC days; run the fixity sweep (docs/integrity.md)' }),
        sweepSchedule: Type.Union([Type.Literal('off'), Type.Literal('daily'), Type.Literal('weekly')], { default: 'weekly', description: 'off, daily or weekly: the fixity sweep (every record and media file re-hashed, the audit chain walked) runs on the HA leader this long after the last one finished' }),
        sweepPauseMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 10, description: 'Fixity sweep throttle: pause after each batch of 500 records or 10 media files' }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace')], { default: 'info' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Readonly<Static<typeof ConfigSchema>>;

export const DEFAULT_CONFIG_PATH = '/etc/retention-proxy/config.yaml';
export const ENV_PREFIX = 'RETENTION_PROXY_';
