import type { FastifyInstance } from 'fastify';

/**
 * The portal app's Content-Security-Policy: only our own scripts, styles, images and media; no plugins, no frames
 * (ours in nobody's, nobody's in ours), no <base> rewriting, forms post only to us.
 */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Stored media (vendor-supplied bytes): nothing may run or load, and the document is sandboxed (an opaque origin
 * without scripts, forms or plugins), so even a file a browser renders cannot act as the signed-in user.
 */
export const MEDIA_CSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox";

/**
 * Headers on EVERY response (API, UI, health, errors, 404s): no MIME sniffing, the app CSP (media routes replace it
 * with MEDIA_CSP), no framing, no referrer, isolated browsing context; HSTS when served over TLS, or when the request
 * came over HTTPS through a trusted TLS-terminating proxy (req.protocol honours X-Forwarded-Proto only from
 * portal.trustProxy).
 * Registered on the root instance before any route or other hook, so even a refused request carries them.
 */
export function installSecurityHeaders(app: FastifyInstance, opts: { tls: boolean }): void {
  app.addHook('onRequest', (req, reply, done) => {
    void reply
      .header('X-Content-Type-Options', 'nosniff')
      .header('Content-Security-Policy', APP_CSP)
      .header('X-Frame-Options', 'DENY')
      .header('Referrer-Policy', 'no-referrer')
      .header('Cross-Origin-Opener-Policy', 'same-origin')
      .header('Cross-Origin-Resource-Policy', 'same-origin');
    if (opts.tls || req.protocol === 'https') void reply.header('Strict-Transport-Security', 'max-age=31536000');
    done();
  });
}
