import { existsSync, statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../../errors.js';

const PLACEHOLDER = '<!doctype html><title>Retention Portal</title><h1>Retention Portal</h1><p>The proxy is running; the portal UI is not built (npm run build:ui). API: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>, health: <a href="/readyz">/readyz</a>.</p>';

function fileIn(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const rel = normalize(decoded).replace(/^([/\\])+/, '');
  const full = join(root, rel);
  if (full !== root && !full.startsWith(root.endsWith(sep) ? root : root + sep)) return undefined;
  try {
    return existsSync(full) && statSync(full).isFile() ? rel : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The built Vue UI (portal-ui/dist) at `/`, with the SPA fallback: a GET for a path that is not a file and
 * that accepts HTML gets index.html, so pasted detail URLs work. A placeholder page when the UI is not built.
 */
export async function uiRoutes(app: FastifyInstance, { dir }: { dir: string | undefined }): Promise<void> {
  const root = dir && existsSync(join(dir, 'index.html')) ? normalize(dir) : undefined;
  if (!root) {
    app.get('/', { config: { role: 'public' }, schema: { hide: true } }, (_req, reply) => reply.type('text/html').send(PLACEHOLDER));
    return;
  }
  await app.register(fastifyStatic, { root, serve: false });
  app.get('/*', { config: { role: 'public' }, schema: { hide: true } }, (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    if (path.startsWith('/api/')) throw new ProxyError('NOT_FOUND');
    const file = path === '/' ? undefined : fileIn(root, path);
    if (file) return reply.sendFile(file, { maxAge: file.startsWith('assets/') ? 31_536_000_000 : 0, immutable: file.startsWith('assets/') });
    if (path !== '/' && !String(req.headers.accept ?? '').includes('text/html')) throw new ProxyError('NOT_FOUND');
    return reply.header('Cache-Control', 'no-cache').sendFile('index.html');
  });
}
