#!/usr/bin/env bash
# Installs what the demo and the test suite need on a fresh Debian/Ubuntu machine, and nothing twice:
#   system packages  openssh-server/-client (real sshd in tests), p7zip-full + zip/unzip (real archive tools),
#                    chromium (portal browser tests)
#                    debootstrap (the Ansible role test's target root)
#   FerretDB 1.24.2  the MongoDB-wire server used when neither MONGODB_URI nor a Docker engine is available
#   Ansible          ansible + ansible-lint (PyPI, in a venv), Node.js 22 for the target and a Debian root for the
#                    role test (scripts/install-ansible.sh), all cached under ~/.cache/retention-proxy/
#   npm packages     npm ci (or npm install when there is no lock file)
# Quick when everything is already there. Set SETUP_SKIP_APT=1 to skip the system packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v sftp >/dev/null 2>&1 || need+=(openssh-client)
command -v 7z >/dev/null 2>&1 || need+=(p7zip-full)
command -v zip >/dev/null 2>&1 || need+=(zip)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)

if [ "${#need[@]}" -gt 0 ] && [ "${SETUP_SKIP_APT:-0}" != 1 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install: ${need[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ -z "${MONGODB_URI:-}" ]; then
  bash scripts/install-ferretdb.sh
fi

bash scripts/install-ansible.sh

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("setup: Node >= 20.19 required, found "+process.version); process.exit(1) }'
# `npm install` rather than `npm ci`: it installs the locked versions too, and it also fills in the per-platform
# optional packages (rollup, esbuild) that some npm 11 releases leave out of the lock file, which makes `npm ci` refuse.
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] || { [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm install --no-audit --no-fund
fi
# ssh2's optional native binding does the SSH packet crypto (AES-GCM, ChaCha20-Poly1305) in C++ instead of through
# per-packet node:crypto calls from JavaScript. It is built by ssh2's install script, which an npm that holds back
# dependency install scripts does not run: build it here when it is missing. Needs make and a C++ compiler; without
# them ssh2 still works (same ciphers through node:crypto), downloads just cost more CPU.
SSH2_BINDING=node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node
if [ -d node_modules/ssh2 ] && [ ! -f "$SSH2_BINDING" ]; then
  npm rebuild ssh2 --foreground-scripts >/dev/null 2>&1 || true
  [ -f "$SSH2_BINDING" ] || echo "setup: warning: could not build ssh2's native crypto binding (SFTP downloads will use more CPU)" >&2
fi
echo "setup: ready"
