import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { assertPortalTransport } from '../../proxy/cli/portal-options.js';
import { configFromObject } from '../../proxy/config/load-config.js';
import { ansibleTools, run } from '../helpers/ansible.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The container artefacts. No Docker engine here: the image is linted, not built; compose is checked as data. */
describe('Dockerfile and docker-compose example', () => {
  it('hadolint finds nothing in the Dockerfile', async () => {
    const res = await run(ansibleTools().hadolint, [join(REPO, 'Dockerfile')]);
    expect(res.code, res.out).toBe(0);
  });

  it('the Dockerfile builds in stages, runs as a non-root user under tini, and checks /healthz', async () => {
    const text = await readFile(join(REPO, 'Dockerfile'), 'utf8');
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^FROM node:22-bookworm-slim$/m);
    expect(text).toMatch(/^USER 10001:10001$/m);
    expect(text).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(text).toMatch(/^CMD \["node", /m);
    expect(text).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
  });

  it('the compose example: a mongo:4.2 PSA replica set initiated once, the proxy with file secrets, a valid config', async () => {
    const compose = parseYaml(await readFile(join(REPO, 'deploy/docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { image?: string; secrets?: string[]; volumes?: string[]; depends_on?: Record<string, { condition: string }>; entrypoint?: string[] }>;
      secrets: Record<string, { file: string }>;
    };
    for (const s of ['mongo1', 'mongo2', 'arbiter']) expect(compose.services[s]?.image).toBe('mongo:4.2');
    expect(compose.services['mongo-init']?.entrypoint?.join(' ')).toContain("arbiterOnly: true");
    expect(compose.services.proxy?.depends_on?.['mongo-init']?.condition).toBe('service_completed_successfully');
    expect(Object.keys(compose.secrets).sort()).toEqual([...(compose.services.proxy?.secrets ?? [])].sort());
    // The example config is valid against the schema once the secrets (file names) are filled in.
    const example = parseYaml(await readFile(join(REPO, 'deploy/docker-config.example.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    for (const [section, key] of [['sftp', 'privateKey'], ['archive', 'key'], ['vendor', 'signingSecret']] as const) {
      const file = example[section]?.[`${key}File`];
      expect(compose.secrets[String(file)], `${section}.${key}File names a compose secret`).toBeDefined();
      delete example[section]?.[`${key}File`];
      (example[section] as Record<string, unknown>)[key] = 'Secret-Value-123';
    }
    (example.sftp as Record<string, unknown>).hostKeyFingerprint = `SHA256:${'A'.repeat(43)}`;
    // The portal listens on the container's network (0.0.0.0) with HTTPS: the certificate is mounted, its key a secret.
    const tls = (example.portal?.tls ?? {}) as Record<string, unknown>;
    expect(compose.secrets[String(tls.keyFile)], 'portal.tls.keyFile names a compose secret').toBeDefined();
    expect(compose.services.proxy?.volumes?.some((v) => v.split(':')[1] === tls.certFile), 'portal.tls.certFile is mounted').toBe(true);
    delete tls.keyFile;
    tls.key = '-----BEGIN PRIVATE KEY-----';
    const config = configFromObject(example);
    // `run` refuses plain HTTP on a non-loopback host: the example must start as written.
    expect(() => assertPortalTransport(config)).not.toThrow();
  });
});
