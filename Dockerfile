# syntax=docker/dockerfile:1
# Retention Proxy image: `docker build -t retention-proxy .`; see deploy/docker-compose.yml and docs/install.md.
# The supported production install is Ansible + systemd (ansible/); this image is for container platforms.

# --- build: dev dependencies, TypeScript, the portal UI when the repository has one, then the release ------------
FROM node:22-bookworm AS build
WORKDIR /src
# Everything first, then install: portal-ui/ may have its own package.json or be an npm workspace, and both
# must be present when npm resolves the lock file. (`npm install` with the lock file installs the locked
# versions; scripts/setup.sh explains why not `npm ci`.)
COPY . .
RUN npm install --no-audit --no-fund \
 && if [ -f portal-ui/package.json ] && [ -f portal-ui/package-lock.json ]; then npm --prefix portal-ui install --no-audit --no-fund; fi
# scripts/release.sh: `npm run build` (which builds portal-ui/ too once it exists), `npm pack`, production deps.
RUN if [ -f portal-ui/package.json ] && [ ! -d portal-ui/dist ]; then npm --prefix portal-ui run build; fi \
 && bash scripts/release.sh /out \
 && mkdir -p /opt/retention-proxy \
 && tar -xzf /out/retention-proxy-*.tgz -C /opt/retention-proxy --strip-components=1

# --- runtime: slim Node 22, tini as PID 1, an unprivileged user -------------------------------------------------
FROM node:22-bookworm-slim
# tini forwards SIGTERM to node and reaps children (or run with `docker run --init` and drop the ENTRYPOINT).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 retention-proxy \
 && useradd --system --uid 10001 --gid retention-proxy --home-dir /var/lib/retention-proxy --shell /usr/sbin/nologin retention-proxy \
 && mkdir -p /var/lib/retention-proxy/staging /etc/retention-proxy \
 && chown -R retention-proxy:retention-proxy /var/lib/retention-proxy
COPY --from=build /opt/retention-proxy /opt/retention-proxy
ENV NODE_ENV=production \
    CREDENTIALS_DIRECTORY=/run/secrets \
    RETENTION_PROXY_STAGING_DIR=/var/lib/retention-proxy/staging
# Numeric, so that `runAsNonRoot` platforms can tell it is not root.
USER 10001:10001
WORKDIR /var/lib/retention-proxy
VOLUME ["/var/lib/retention-proxy"]
EXPOSE 8443
# No curl in the slim image: Node's own fetch. (With the portal on TLS, use https and NODE_TLS_REJECT_UNAUTHORIZED=0.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.RETENTION_PROXY_PORTAL_PORT||8443)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "/opt/retention-proxy/dist/proxy/cli/main.js", "run", "--config", "/etc/retention-proxy/config.yaml"]
