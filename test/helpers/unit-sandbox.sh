#!/bin/sh
# Usage (as root, under `unshare --mount`): unit-sandbox.sh ROOT UID GID WORKDIR RW_PATH -- COMMAND...
# Runs COMMAND inside ROOT with the parts of deploy/retention-proxy.service's sandbox that plain Linux tools can
# reproduce without systemd: ProtectSystem=strict (ROOT read-only except RW_PATH = ReadWritePaths/StateDirectory),
# ProtectProc=invisible + ProcSubset=pid (a private /proc, hidepid=invisible,subset=pid), PrivateTmp (fresh tmpfs),
# User=/Group=, NoNewPrivileges=true and an empty CapabilityBoundingSet (setpriv). Not reproduced: the seccomp
# filter, RestrictAddressFamilies, RestrictNamespaces and the other kernel-side settings.
# It execs, so COMMAND keeps the caller's process id (signals reach it directly).
set -eu
root=$1 uid=$2 gid=$3 wd=$4 rw=$5
shift 5
[ "$1" = "--" ] && shift
mount --bind "$root" "$root"
mount --bind "$root$rw" "$root$rw"
mount -o remount,bind,ro "$root"
mount -t proc -o hidepid=invisible,subset=pid proc "$root/proc"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/var/tmp"
exec chroot "$root" /usr/bin/setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs \
  --bounding-set=-all --inh-caps=-all -- /usr/bin/env -C "$wd" "$@"
