#!/usr/bin/env bash
# Builds the self-contained release tarball that ansible/ installs (retention_proxy_release_tarball):
#   dist/release/retention-proxy-<version>.tgz  =  `npm pack` output (dist/, deploy/, docs/, README.md,
#   portal-ui/dist/ when built) + its production node_modules, installed from package-lock.json.
# (`npm install` with the lock file in place installs the locked versions; `npm ci` trips over per-platform
# optional packages that some npm releases leave out of the lock, see scripts/setup.sh.)
# Self-contained because the customer's VMs usually reach nothing but the vendor's tunnel: no npm on the target.
# The production dependencies are pure JavaScript, so one tarball serves every Linux architecture.
# Usage: scripts/release.sh [OUT_DIR]      (runs `npm run build` first; prints the tarball's path last)
#        RELEASE_SKIP_BUILD=1 packs dist/ as it is (the tests: `npm test` has just built it, and rebuilding it
#        under other tests that run the CLI would race with them).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mkdir -p "${1:-dist/release}" && cd "${1:-dist/release}" && pwd)"
version="$(node -p 'require("./package.json").version')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ "${RELEASE_SKIP_BUILD:-0}" = 1 ]; then
  [ -f dist/proxy/cli/main.js ] || { echo "release: dist/ is not built (npm run build)" >&2; exit 1; }
else
  npm run build --silent >&2
fi
if [ -f portal-ui/package.json ] && [ ! -d portal-ui/dist ]; then
  echo "release: portal-ui/ exists but portal-ui/dist/ is not built; run its build first" >&2
  exit 1
fi
npm pack --silent --pack-destination "$work" >/dev/null
tar -xzf "$work/retention-proxy-${version}.tgz" -C "$work"
cp package-lock.json "$work/package/"
(cd "$work/package" && npm install --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2 && rm -f package-lock.json)
tar --owner=0 --group=0 --numeric-owner --sort=name -czf "$out/retention-proxy-${version}.tgz" -C "$work" package
echo "$out/retention-proxy-${version}.tgz"
