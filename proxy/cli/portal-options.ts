import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { AppDeps } from '../app.js';
import type { Config } from '../config/schema.js';
import { ProxyError } from '../errors.js';
import { portalSettings } from '../portal/context.js';
import { plainHttpProblem } from '../portal/http/listen-policy.js';

/** The built UI, resolved from this module so that it works from a checkout and from an `npm pack` install. */
export const PORTAL_DIST = fileURLToPath(new URL('../../../portal-ui/dist/', import.meta.url));

/** Refuses (CONFIG_INVALID) plain HTTP on a non-loopback host unless portal.allowPlainHttp. */
export function assertPortalTransport(config: Config): void {
  const { host, tls, allowPlainHttp } = config.portal;
  const refused = plainHttpProblem({ host, tls: tls.certFile !== undefined || tls.key !== undefined, allowPlainHttp });
  if (refused) throw new ProxyError('CONFIG_INVALID', refused);
}

/** buildApp's portal options from the config: policies, the admin password, TLS files. */
export async function portalAppOptions(config: Config): Promise<Pick<AppDeps, 'portal' | 'tls' | 'adminPassword' | 'portalDir' | 'trustProxy'>> {
  const { tls, adminPassword } = config.portal;
  assertPortalTransport(config);
  let tlsFiles: AppDeps['tls'];
  if (tls.certFile !== undefined || tls.key !== undefined) {
    if (tls.certFile === undefined || tls.key === undefined) throw new ProxyError('CONFIG_INVALID', 'portal.tls needs both certFile and keyFile');
    let cert: string;
    try {
      cert = await readFile(tls.certFile, 'utf8');
    } catch (err) {
      throw new ProxyError('CONFIG_INVALID', `portal.tls.certFile: cannot read ${tls.certFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    tlsFiles = { cert, key: tls.key };
  }
  return {
    portal: portalSettings(config.portal),
    portalDir: PORTAL_DIST,
    ...(config.portal.trustProxy !== '' ? { trustProxy: config.portal.trustProxy } : {}),
    ...(tlsFiles ? { tls: tlsFiles } : {}),
    ...(adminPassword !== undefined ? { adminPassword } : {}),
  };
}
