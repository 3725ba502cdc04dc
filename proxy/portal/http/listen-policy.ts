import { isIP } from 'node:net';

/** The loopback interface: 127.0.0.0/8, ::1, localhost. Nothing else on the network can reach it. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7));
  return isIP(h) === 4 && h.startsWith('127.');
}

export interface PortalListen { host: string; tls: boolean; allowPlainHttp: boolean }

/**
 * Why the portal must not listen as configured, or undefined. Plain HTTP carries passwords and session cookies in
 * clear text: it is only served on loopback, or on another address when `portal.allowPlainHttp` says a
 * TLS-terminating reverse proxy is in front.
 */
export function plainHttpProblem(p: PortalListen): string | undefined {
  if (p.tls || isLoopbackHost(p.host) || p.allowPlainHttp) return undefined;
  return `portal.host ${p.host} is not loopback and there is no certificate (portal.tls.certFile and keyFile): passwords and session cookies would cross the network in clear text. Give the certificate (the Ansible role generates a self-signed one by default), listen on 127.0.0.1, or set portal.allowPlainHttp: true behind a TLS-terminating reverse proxy`;
}

/** fastify's `trustProxy` from `portal.trustProxy` (comma-separated addresses/CIDRs): false when empty. */
export function trustProxyOption(value: string | undefined): string[] | false {
  const list = (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return list.length > 0 ? list : false;
}
