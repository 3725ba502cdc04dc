import { describe, expect, it } from 'vitest';
import { isLoopbackHost, plainHttpProblem, trustProxyOption } from '../../../proxy/portal/http/listen-policy.js';

describe('portal transport policy (issue 12 item 3)', () => {
  it('knows loopback addresses from the rest', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'portal.example', '128.0.0.1', '']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('refuses plain HTTP off loopback unless TLS is configured or allowPlainHttp is set', () => {
    expect(plainHttpProblem({ host: '0.0.0.0', tls: false, allowPlainHttp: false })).toMatch(/allowPlainHttp/);
    expect(plainHttpProblem({ host: '10.0.0.5', tls: false, allowPlainHttp: false })).toMatch(/clear text/);
    expect(plainHttpProblem({ host: '0.0.0.0', tls: true, allowPlainHttp: false })).toBeUndefined();
    expect(plainHttpProblem({ host: '0.0.0.0', tls: false, allowPlainHttp: true })).toBeUndefined();
    expect(plainHttpProblem({ host: '127.0.0.1', tls: false, allowPlainHttp: false })).toBeUndefined();
  });

  it('turns portal.trustProxy into fastify trustProxy: none when empty, else the listed addresses', () => {
    expect(trustProxyOption('')).toBe(false);
    expect(trustProxyOption(undefined)).toBe(false);
    expect(trustProxyOption(' 10.0.0.1 , 192.168.0.0/16,')).toEqual(['10.0.0.1', '192.168.0.0/16']);
  });
});
