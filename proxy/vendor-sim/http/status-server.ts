import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { parseArchiveName } from '../../archive/archive-name.js';
import { ERRORS, type ErrorCode } from '../../errors.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyReportSignature } from '../../report/signature.js';
import type { BackupLog } from '../backup-log.js';
import type { RetainedData } from '../retained-data.js';
import type { StatusReport } from '../types.js';
import { renderBackupLogPage } from './backup-log-page.js';
import { checkStatusReport } from './report-schema.js';

export const STATUS_PATH = '/retention/v1/status';

export interface StatusServerOptions {
  readonly serviceId: string;
  readonly signingSecret: string;
  readonly backupLog: BackupLog;
  readonly log: Logger;
  /** Awaited before the POST is answered. */
  readonly onReport?: (report: StatusReport) => Promise<void> | void;
  /** Deleting retained data (Auto-Delete, "Delete from CINNOX", "Try again"). */
  readonly retained?: RetainedData;
}

const errorBody = (code: ErrorCode, detail?: string): { code: ErrorCode; message: string } => ({
  code, message: detail ? `${ERRORS[code].message}: ${detail}` : ERRORS[code].message,
});

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The vendor's HTTP side: status reports in, Backup Log out. Not listening until the caller says so. */
export function buildStatusServer(opts: StatusServerOptions): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = opts.log.child({ component: 'vendor-sim-http' });
  const app = Fastify({ loggerInstance });

  // Keep the raw body: the signature is over the exact bytes that were sent.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setNotFoundHandler((_req, reply) => reply.code(404).send(errorBody('NOT_FOUND')));
  app.setErrorHandler((err: { statusCode?: number; message?: string }, _req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) opts.log.error({ err }, 'vendor-sim http error');
    return reply.code(status).send(errorBody(status < 500 ? 'VALIDATION' : 'INTERNAL', status < 500 ? err.message : undefined));
  });

  app.post(STATUS_PATH, async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const ok = verifyReportSignature(opts.signingSecret, header(req.headers[TIMESTAMP_HEADER]), raw, header(req.headers[SIGNATURE_HEADER]));
    if (!ok) return reply.code(401).send(errorBody('SIGNATURE_INVALID'));
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return reply.code(400).send(errorBody('VALIDATION', 'body is not JSON'));
    }
    const checked = checkStatusReport(parsed);
    if ('problem' in checked) return reply.code(400).send(errorBody('VALIDATION', checked.problem));
    const report = checked.report;
    if (report.serviceId !== opts.serviceId) return reply.code(400).send(errorBody('VALIDATION', 'unknown serviceId'));
    if (!parseArchiveName(report.fileName)) return reply.code(400).send(errorBody('ARCHIVE_NAME_INVALID'));
    const applied = opts.backupLog.applyReport(report);
    if (applied) opts.retained?.onReport(report);
    opts.log.info({ reportId: report.reportId, siteId: report.siteId, fileName: report.fileName, status: report.status, duplicate: !applied }, 'status report');
    if (opts.onReport) await opts.onReport(report);
    return reply.code(200).send({ ok: true, duplicate: !applied });
  });

  app.get('/retention/v1/health', () => ({ ok: true }));
  app.get('/api/backup-log', () => ({ rows: opts.backupLog.rows(), autoDelete: opts.retained?.autoDelete ?? false }));
  app.get('/backup-log', (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(renderBackupLogPage(opts.serviceId, opts.backupLog.rows(), { autoDelete: opts.retained?.autoDelete ?? false })));

  // "Delete from CINNOX" and "Try again": JSON for tests, a form post from the Backup Log page.
  const deleteArchive = async (fileName: string): Promise<{ status: number; body: { fileName: string; status: string } | ReturnType<typeof errorBody> }> => {
    if (!opts.retained) return { status: 404, body: errorBody('NOT_FOUND') };
    if (!parseArchiveName(fileName) || !opts.backupLog.has(fileName)) return { status: 404, body: errorBody('NOT_FOUND', fileName) };
    return { status: 200, body: { fileName, status: await opts.retained.delete(fileName) } };
  };
  app.post('/api/backup-log/delete', async (req, reply) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof req.body === 'string' ? req.body : '{}');
    } catch {
      return reply.code(400).send(errorBody('VALIDATION', 'body is not JSON'));
    }
    const given = (parsed as { fileName?: unknown } | null)?.fileName;
    const fileName = typeof given === 'string' ? given : '';
    const r = await deleteArchive(fileName);
    return reply.code(r.status).send(r.body);
  });
  app.post('/backup-log/delete', async (req, reply) => {
    const fileName = new URLSearchParams(typeof req.body === 'string' ? req.body : '').get('fileName') ?? '';
    const r = await deleteArchive(fileName);
    return r.status === 200 ? reply.redirect('/backup-log', 303) : reply.code(r.status).send(r.body);
  });
  app.get('/', (_req, reply) => reply.redirect('/backup-log'));
  return app;
}
