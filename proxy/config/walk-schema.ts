import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema } from './schema.js';

export interface ConfigLeaf {
  /** e.g. ['sftp', 'hostKeyFingerprint'] */
  readonly path: readonly string[];
  /** e.g. RETENTION_PROXY_SFTP_HOST_KEY_FINGERPRINT */
  readonly env: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'list';
  readonly secret: boolean;
  /** Not required and without a default (e.g. `serviceId`, `portal.tls.certFile`). */
  readonly optional: boolean;
  readonly description: string | undefined;
  readonly default: unknown;
}

const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

function leafType(schema: TSchema): ConfigLeaf['type'] {
  const t = (schema as { type?: unknown }).type;
  if (t === 'integer' || t === 'number' || t === 'boolean') return t;
  if (t === 'array') return 'list';
  return 'string';
}

/** Every settable key of the schema, in schema order: the basis of env overrides and docs/configuration.md. */
export function configLeaves(prefix = 'RETENTION_PROXY_'): ConfigLeaf[] {
  const out: ConfigLeaf[] = [];
  const walk = (schema: TSchema, path: string[], required: boolean): void => {
    const props = (schema as { properties?: Record<string, TSchema> }).properties;
    if (props && (schema as { type?: unknown }).type === 'object') {
      const req = new Set((schema as { required?: string[] }).required ?? []);
      for (const [k, v] of Object.entries(props)) walk(v, [...path, k], req.has(k));
      return;
    }
    const s = schema as { secret?: boolean; description?: string; default?: unknown };
    out.push({
      path,
      env: prefix + path.map(snake).join('_'),
      type: leafType(schema),
      secret: s.secret === true,
      optional: !required && s.default === undefined,
      description: s.description,
      default: s.default,
    });
  };
  walk(ConfigSchema, [], true);
  return out;
}
