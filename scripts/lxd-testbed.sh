#!/usr/bin/env bash
# Prepare a real LXD for Herd's tests on a Debian machine, idempotently:
#   - install Debian's lxd, lxd-client and busybox-static if missing;
#   - start the daemon (lxd --group root) unless it answers, wait for it;
#   - create a `dir` storage pool and the default profile's root disk if
#     missing (`lxd init --auto` fails on these machines at the network
#     bridge, so no bridge and no network device is ever created);
#   - build and import a tiny busybox image under the alias herd-busybox.
# Run it as root. Safe to run again: each step checks before acting.
set -euo pipefail

ALIAS=${HERD_LXD_IMAGE:-herd-busybox}
POOL=${HERD_LXD_POOL:-default}
LOG=${HERD_LXD_LOG:-/var/log/herd-lxd.log}

say() { printf 'lxd-testbed: %s\n' "$*"; }

need=()
command -v lxd >/dev/null || need+=(lxd)
command -v lxc >/dev/null || need+=(lxd-client)
[ -x /bin/busybox ] || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

if ! lxc info >/dev/null 2>&1; then
  say "starting the LXD daemon (log: $LOG)"
  nohup lxd --group root >"$LOG" 2>&1 &
  disown || true
fi
lxd waitready --timeout 120
say "daemon ready: $(lxc version 2>/dev/null | tr '\n' ' ')"

if ! lxc storage show "$POOL" >/dev/null 2>&1; then
  say "creating dir storage pool $POOL"
  lxc storage create "$POOL" dir
fi
if ! lxc profile device show default 2>/dev/null | grep -q '^root:'; then
  say "adding root disk to the default profile"
  lxc profile device add default root disk path=/ pool="$POOL"
fi

if ! lxc image info "$ALIAS" >/dev/null 2>&1; then
  say "building busybox image $ALIAS"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/rootfs"/{bin,sbin,etc,proc,sys,dev,tmp,root,var,run}
  cp /bin/busybox "$work/rootfs/bin/busybox"
  for app in $(/bin/busybox --list); do
    [ "$app" = busybox ] && continue
    ln -sf /bin/busybox "$work/rootfs/bin/$app"
  done
  # init: wait for signals; LXD stops it with SIGPWR (or kills on force).
  cat >"$work/rootfs/sbin/init" <<'INIT'
#!/bin/sh
trap 'exit 0' PWR TERM INT
while :; do sleep 3600 & wait $!; done
INIT
  chmod 0755 "$work/rootfs/sbin/init"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
  echo 'root:x:0:' >"$work/rootfs/etc/group"
  cat >"$work/metadata.yaml" <<META
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: Herd test image (busybox)
  os: busybox
  release: static
META
  tar -C "$work" -czf "$work/image.tar.gz" metadata.yaml rootfs
  lxc image import "$work/image.tar.gz" --alias "$ALIAS" >/dev/null
fi
say "image $ALIAS ready"
