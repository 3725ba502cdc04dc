import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import type { StatusReport } from '../types.js';

const Uuid = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/** The body of POST /retention/v1/status (see docs/vendor-api.md). */
export const StatusReportSchema = Type.Object(
  {
    reportId: Type.String({ minLength: 1, maxLength: 200 }),
    serviceId: Type.String({ minLength: 1, maxLength: 64 }),
    siteId: Type.String({ minLength: 1, maxLength: 200 }),
    jobId: Type.String({ pattern: Uuid }),
    fileName: Type.String({ minLength: 1, maxLength: 255 }),
    status: Type.Union([Type.Literal('downloading'), Type.Literal('downloaded'), Type.Literal('failed')]),
    bytes: Type.Integer({ minimum: 0 }),
    fileCount: Type.Integer({ minimum: 0 }),
    recordCounts: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
    /** Empty while the SHA-256 is not known yet (e.g. "downloading"). */
    sha256: Type.String({ pattern: '^([0-9a-f]{64})?$' }),
    error: Type.Optional(Type.Object({ code: Type.String({ minLength: 1 }), message: Type.String() }, { additionalProperties: false })),
    at: Type.String({ minLength: 20, maxLength: 40 }),
  },
  { additionalProperties: false },
);

const validate = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, strict: true }).compile<Static<typeof StatusReportSchema>>(StatusReportSchema);

/** The report, or a reason why it is not one. */
export function checkStatusReport(value: unknown): { report: StatusReport } | { problem: string } {
  if (!validate(value)) {
    const e = validate.errors?.[0];
    return { problem: e ? `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` : 'invalid report' };
  }
  if (Number.isNaN(Date.parse(value.at))) return { problem: '/at is not a date-time' };
  if (value.status === 'failed' && !value.error) return { problem: '/error is required when status is "failed"' };
  return { report: value };
}
